#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// A socket address as the kernel gives and takes it (sockaddr_in or sockaddr_in6), kept by
/// value: comparing the source of every received packet and sending to the peer need neither
/// NIO's `SocketAddress` (whose host string allocates) nor any other allocation.
public struct PeerAddress: Equatable {
    /// Large enough for sockaddr_in and sockaddr_in6.
    var storage = sockaddr_in6()
    var length: socklen_t = 0

    public init() {}

    public init(_ address: SocketAddress) {
        address.withSockAddr { pointer, size in
            let n = min(size, MemoryLayout<sockaddr_in6>.size)
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: n)) }
            length = socklen_t(n)
        }
    }

    var family: Int32 { Int32(storage.sin6_family) }

    /// NIO's form, for the rare moments it is needed (latching, RTCP addressing); allocates.
    public var socketAddress: SocketAddress? {
        switch family {
        case AF_INET:
            return withUnsafeBytes(of: storage) { SocketAddress($0.loadUnaligned(as: sockaddr_in.self)) }
        case AF_INET6:
            return SocketAddress(storage)
        default:
            return nil
        }
    }

    public static func == (a: PeerAddress, b: PeerAddress) -> Bool {
        guard a.family == b.family else { return false }
        switch a.family {
        case AF_INET:
            return withUnsafeBytes(of: a.storage) { x in
                withUnsafeBytes(of: b.storage) { y in
                    let p = x.loadUnaligned(as: sockaddr_in.self), q = y.loadUnaligned(as: sockaddr_in.self)
                    return p.sin_port == q.sin_port && p.sin_addr.s_addr == q.sin_addr.s_addr
                }
            }
        case AF_INET6:
            return a.storage.sin6_port == b.storage.sin6_port
                && withUnsafeBytes(of: a.storage.sin6_addr) { x in withUnsafeBytes(of: b.storage.sin6_addr) { y in x.elementsEqual(y) } }
        default:
            return a.length == b.length
        }
    }

    /// The same host, another port (RTCP on RTP port + 1).
    func withPort(_ port: Int) -> PeerAddress {
        var copy = self
        switch family {
        case AF_INET:
            withUnsafeMutableBytes(of: &copy.storage) { raw in
                var s = raw.loadUnaligned(as: sockaddr_in.self)
                s.sin_port = in_port_t(UInt16(truncatingIfNeeded: port)).bigEndian
                raw.storeBytes(of: s, as: sockaddr_in.self)
            }
        case AF_INET6:
            copy.storage.sin6_port = in_port_t(UInt16(truncatingIfNeeded: port)).bigEndian
        default: break
        }
        return copy
    }

    public var port: Int {
        switch family {
        case AF_INET: return withUnsafeBytes(of: storage) { Int(UInt16(bigEndian: $0.loadUnaligned(as: sockaddr_in.self).sin_port)) }
        case AF_INET6: return Int(UInt16(bigEndian: storage.sin6_port))
        default: return 0
        }
    }
}

extension PeerAddress: RTPSourceAddress {
    /// Same family and IP address, any port (symmetric RTP behind a NAT that moves ports).
    public func sameHost(as other: PeerAddress) -> Bool {
        guard family == other.family else { return false }
        switch family {
        case AF_INET:
            return withUnsafeBytes(of: storage) { x in
                withUnsafeBytes(of: other.storage) { y in
                    x.loadUnaligned(as: sockaddr_in.self).sin_addr.s_addr == y.loadUnaligned(as: sockaddr_in.self).sin_addr.s_addr
                }
            }
        case AF_INET6:
            return withUnsafeBytes(of: storage.sin6_addr) { x in withUnsafeBytes(of: other.storage.sin6_addr) { y in x.elementsEqual(y) } }
        default:
            return false
        }
    }
}
