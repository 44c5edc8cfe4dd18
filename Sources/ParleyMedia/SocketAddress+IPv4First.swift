import Foundation
import NIOCore

extension SocketAddress {
    /// `host` (a literal address or a name) at `port`, taking a name's IPv4 address when it
    /// has one. A stock Debian resolves "localhost" to ::1 first, and a socket bound there
    /// cannot reach the IPv4 peers and SDP addresses that SIP and RTP mostly use.
    public static func resolvingPreferringIPv4(_ host: String, port: Int) throws -> SocketAddress {
        if let literal = try? SocketAddress(ipAddress: host, port: port) { return literal }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        if getaddrinfo(host, nil, &hints, &list) == 0, let first = list {
            defer { freeaddrinfo(list) }
            if let address = first.pointee.ai_addr, first.pointee.ai_family == AF_INET {
                var ipv4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
                ipv4.sin_port = in_port_t(UInt16(clamping: port)).bigEndian
                return SocketAddress(ipv4, host: host)
            }
        }
        return try SocketAddress.makeAddressResolvingHost(host, port: port)
    }
}
