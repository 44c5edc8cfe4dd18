import CLiburing
import CParleyMediaIO
import Foundation

extension IOCompare {
    /// io_uring (liburing): per tick one `io_uring_enter` submits a non-blocking recvmsg on every
    /// socket and a sendmsg to every known peer, and waits for all their completions.
    static func uring(legs: Int, seconds: Double, generator: TrafficGenerator, cpu: Int) throws -> Row {
        let fds = try openSockets(legs)
        defer { for fd in fds { close(fd) } }
        generator.targets = fds.map { Int(parley_local_port($0)) }
        var entries: UInt32 = 1
        while entries < UInt32(2 * legs) { entries <<= 1 }
        guard let ring = parley_uring_create(entries) else { throw UsageError("io_uring_queue_init failed") }
        defer { parley_uring_destroy(ring) }
        let n = fds.count
        // Per socket: a receive slot, a receive and a send message, the peer address.
        let buffers = UnsafeMutableRawPointer.allocate(byteCount: n * 2048, alignment: 16)
        let sourceNames = UnsafeMutablePointer<sockaddr_in>.allocate(capacity: n)
        let peerNames = UnsafeMutablePointer<sockaddr_in>.allocate(capacity: n)
        let receiveIovecs = UnsafeMutablePointer<iovec>.allocate(capacity: n)
        let sendIovecs = UnsafeMutablePointer<iovec>.allocate(capacity: n)
        let receives = UnsafeMutablePointer<msghdr>.allocate(capacity: n)
        let sends = UnsafeMutablePointer<msghdr>.allocate(capacity: n)
        let data = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * n)
        let results = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * n)
        defer {
            buffers.deallocate(); sourceNames.deallocate(); peerNames.deallocate(); receiveIovecs.deallocate()
            sendIovecs.deallocate(); receives.deallocate(); sends.deallocate(); data.deallocate(); results.deallocate()
        }
        var known = [Bool](repeating: false, count: n)
        payload.withUnsafeBytes { p in
            for i in 0..<n {
                receiveIovecs[i] = iovec(iov_base: buffers + i * 2048, iov_len: 2048)
                sendIovecs[i] = iovec(iov_base: UnsafeMutableRawPointer(mutating: p.baseAddress), iov_len: p.count)
                var r = msghdr()
                r.msg_name = UnsafeMutableRawPointer(sourceNames + i)
                r.msg_iov = receiveIovecs + i
                r.msg_iovlen = 1
                receives[i] = r
                var s = msghdr()
                s.msg_name = UnsafeMutableRawPointer(peerNames + i)
                s.msg_namelen = socklen_t(MemoryLayout<sockaddr_in>.size)
                s.msg_iov = sendIovecs + i
                s.msg_iovlen = 1
                sends[i] = s
            }
        }
        let thread = PacedThread(name: "io-uring", cpu: cpu) {
            var queued: UInt32 = 0
            for i in 0..<n {
                receives[i].msg_namelen = socklen_t(MemoryLayout<sockaddr_in>.size)
                if parley_uring_recvmsg(ring, fds[i], receives + i, UInt64(i)) == 0 { queued += 1 }
                if known[i], parley_uring_sendmsg(ring, fds[i], sends + i, UInt64(i) | 1 << 63) == 0 { queued += 1 }
            }
            _ = parley_uring_submit_and_wait(ring, queued)
            var reaped: UInt32 = 0
            while reaped < queued {
                let got = parley_uring_reap(ring, data, results, 2 * UInt32(n))
                if got == 0 { _ = parley_uring_submit_and_wait(ring, 1); continue }
                for k in 0..<Int(got) where data[k] & (1 << 63) == 0 && results[k] > 0 {
                    let i = Int(data[k])
                    if !known[i] { peerNames[i] = sourceNames[i]; known[i] = true }
                }
                reaped += got
            }
        }
        defer { thread.stop() }
        generator.start()
        defer { generator.stop() }
        let row = measure("io_uring (one submit per tick: recvmsg + sendmsg per socket)", legs: legs, seconds: seconds, generator: generator,
                          cpu: { thread.cpuNanoseconds }, lateness: { nil })
        return row
    }
}
