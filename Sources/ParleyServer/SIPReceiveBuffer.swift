import Foundation
import Logging
import NIOCore

/// The SIP UDP socket's receive buffer (`sip.receive_buffer`) and the kernel's count of
/// datagrams dropped because it was full.
///
/// Linux's default (net.core.rmem_default, 208 KiB) holds about 200 small datagrams: a
/// burst beyond that, while the SIP loop is busy, is dropped by the kernel without a trace.
/// `SO_RCVBUFFORCE` (root or CAP_NET_ADMIN) may exceed net.core.rmem_max; without the
/// privilege it fails and plain `SO_RCVBUF` is capped at rmem_max.
///
/// Drops: the issue names `SO_RXQ_OVFL`, a control message carrying the socket's drop
/// counter on each datagram; NIO's datagram channel does not deliver it. The same kernel
/// counter (`sk_drops`) is read with `getsockopt(SO_MEMINFO)` at index `SK_MEMINFO_DROPS`,
/// once a second on the SIP loop: nothing is added per datagram. `sk_drops` also counts
/// datagrams a socket filter or a full memory budget dropped; on a SIP socket that is the
/// same thing, a datagram we never saw.
enum SIPReceiveBuffer {
    /// <asm-generic/socket.h>; not exported by Glibc's Swift module.
    static let soRcvBufForce: Int32 = 33
    static let soMemInfo: Int32 = 55
    /// <linux/sock_diag.h>: SK_MEMINFO_DROPS, and SK_MEMINFO_VARS entries in all.
    static let memInfoDrops = 8
    typealias MemInfo = (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)

    /// Asks for `bytes` of receive buffer (forced first, then plain) and returns what the
    /// kernel reports it granted (Linux reports twice the request: half is bookkeeping).
    /// Must run on the channel's loop or off it; never blocks the loop.
    static func configure(_ channel: Channel, bytes: Int, logger: Logger) async -> Int? {
        guard let provider = channel as? SocketOptionProvider else { return nil }
        let value = CInt(clamping: bytes)
        let level = SocketOptionLevel(SOL_SOCKET)
        var how = "SO_RCVBUFFORCE"
        do {
            try await provider.unsafeSetSocketOption(level: level, name: soRcvBufForce, value: value).get()
        } catch {
            how = "SO_RCVBUF (capped by net.core.rmem_max)"
            try? await provider.unsafeSetSocketOption(level: level, name: SocketOptionName(SO_RCVBUF), value: value).get()
        }
        let granted: CInt? = try? await provider.unsafeGetSocketOption(level: level, name: SocketOptionName(SO_RCVBUF)).get()
        logger.info("SIP UDP receive buffer", metadata: ["requested": "\(bytes)", "granted": "\(granted.map { "\($0)" } ?? "?")",
                                                         "via": "\(how)"])
        return granted.map(Int.init)
    }

    /// The socket's drop counter (`sk_drops`); nil where the kernel does not report it.
    static func drops(_ channel: Channel) -> EventLoopFuture<UInt32?> {
        guard let provider = channel as? SocketOptionProvider else { return channel.eventLoop.makeSucceededFuture(nil) }
        let info: EventLoopFuture<MemInfo> = provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: soMemInfo)
        return info.map { Optional($0.8) }.recover { _ in nil }
    }

    /// Polls `drops` once a second on the channel's loop and adds the growth to
    /// `parley_sip_udp_receive_drops_total`, with a warning at most once every 10 s while it
    /// grows. Stops when the channel closes.
    static func watchDrops(_ channel: Channel, logger: Logger) {
        let loop = channel.eventLoop
        // The socket is new: every drop it has counted is ours to report.
        var last: UInt32 = 0
        var lastLog: NIODeadline = .uptimeNanoseconds(0)
        var unlogged: UInt64 = 0
        let task = loop.scheduleRepeatedAsyncTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            drops(channel).map { current in
                guard let current else { return }
                defer { last = current }
                guard current > last else { return }
                let grown = UInt64(current - last)
                ParleyMetrics.sipReceiveDrops(grown)
                unlogged += grown
                let now = NIODeadline.now()
                if now - lastLog >= .seconds(10) {
                    lastLog = now
                    logger.warning("SIP UDP receive buffer overflowed: datagrams dropped by the kernel",
                                   metadata: ["dropped": "\(unlogged)", "total": "\(current)", "hint": "raise sip.receive_buffer"])
                    unlogged = 0
                }
            }
        }
        channel.closeFuture.whenComplete { _ in task.cancel() }
    }
}
