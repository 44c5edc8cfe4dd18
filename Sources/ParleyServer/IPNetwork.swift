#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 network in CIDR form (`127.0.0.0/8`, `2001:db8::/32`, or a single address).
public struct IPNetwork: Sendable, Equatable, CustomStringConvertible {
    /// Address bytes: 4 for IPv4, 16 for IPv6.
    public let bytes: [UInt8]
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPNetwork.parse(String(parts[0])) else { return nil }
        let maxPrefix = address.count * 8
        if parts.count == 2 {
            guard let p = Int(parts[1]), (0...maxPrefix).contains(p) else { return nil }
            prefixLength = p
        } else {
            prefixLength = maxPrefix
        }
        bytes = address
    }

    /// Whether the address (text form, as NIO's `SocketAddress.ipAddress` gives it) is inside.
    /// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) match IPv4 networks.
    public func contains(_ addressText: String) -> Bool {
        guard var address = IPNetwork.parse(addressText) else { return false }
        if address.count == 16, bytes.count == 4, address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xFF, address[11] == 0xFF {
            address = Array(address[12...])
        }
        guard address.count == bytes.count else { return false }
        var remaining = prefixLength
        for i in 0..<bytes.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if address[i] & mask != bytes[i] & mask { return false }
            remaining -= bits
        }
        return true
    }

    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    public var description: String {
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        var buffer = [CChar](repeating: 0, count: 64)
        let text = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) }
        return text.map { _ in String(cString: buffer) + "/\(prefixLength)" } ?? "?"
    }
}

/// A token bucket per source: `rate` requests a second on average, bursts up to `burst`.
/// Time is a parameter (milliseconds on any monotonic clock).
public struct RateLimiter: Sendable {
    public let rate: Double
    public let burst: Double
    /// Sources tracked at most. A new source beyond is let through untracked: a table full
    /// of sources seen in the last 10 s means forged source addresses, which a per-source
    /// bucket cannot stop anyway (each would start with a full bucket), and memory stays bounded.
    public let maxSources: Int
    private var buckets: [String: (tokens: Double, at: Int64)] = [:]
    private var lastSweep: Int64 = 0

    public init(requestsPerSecond: Double, burst: Int, maxSources: Int = 100_000) {
        rate = requestsPerSecond
        self.burst = Double(burst)
        self.maxSources = maxSources
    }

    /// Takes `cost` tokens for `source`; false when the source is over its rate. A refused
    /// cost still spends the whole tokens the bucket held, as `cost` calls of one token
    /// each would have until the first refusal.
    public mutating func allow(_ source: String, now: Int64, cost: Int = 1) -> Bool {
        // Forget idle sources now and then so a scan of many addresses cannot grow the table for ever.
        if now - lastSweep > 10_000 {
            buckets = buckets.filter { now - $0.value.at < 10_000 }
            lastSweep = now
        }
        guard let known = buckets[source] ?? (buckets.count < maxSources ? (burst, now) : nil) else { return true }
        var bucket = known
        bucket.tokens = min(burst, bucket.tokens + Double(now - bucket.at) / 1000 * rate)
        bucket.at = now
        let allowed = bucket.tokens >= Double(cost)
        bucket.tokens -= allowed ? Double(cost) : bucket.tokens.rounded(.down)
        buckets[source] = bucket
        return allowed
    }

    public var trackedSources: Int { buckets.count }
}
