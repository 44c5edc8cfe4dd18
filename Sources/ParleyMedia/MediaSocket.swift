import CParleyMediaIO
import Foundation
import NIOCore

/// A leg's UDP socket: a non-blocking descriptor read and written by its media thread.
enum MediaSocket {
    /// Binds a UDP socket to host:port (port 0: any); returns the descriptor.
    static func open(host: String, port: Int, receiveBuffer: Int = 0) throws -> Int32 {
        // A literal address as configured; a host name (e.g. localhost) is resolved, IPv4 first.
        let address = try SocketAddress.resolvingPreferringIPv4(host, port: port)
        let fd = address.withSockAddr { pointer, length in
            parley_udp_open(pointer, socklen_t(length), Int32(receiveBuffer))
        }
        guard fd >= 0 else { throw MediaIOError.system("bind \(host):\(port)", -fd) }
        return fd
    }

    static func localPort(_ fd: Int32) -> Int { Int(max(0, parley_local_port(fd))) }
}
