import Foundation

extension ParleyConfig {
    /// `admin:` — the admin HTTP API and Prometheus `/metrics` (target ParleyAdmin).
    ///
    /// The bearer token is never in the file: `token_env` names the environment variable
    /// that holds it. Without a token the API is off (never open). A listen address other
    /// than loopback is refused at start unless a token is set.
    public struct Admin: Sendable, Equatable {
        public var host: String = "127.0.0.1"
        public var port: Int = 8089
        /// The environment variable holding the bearer token.
        public var tokenEnvironmentVariable: String = "PARLEY_ADMIN_TOKEN"
        /// Largest request body accepted (greeting uploads), in bytes; larger gets 413.
        public var maxBodyBytes: Int = 10 * 1024 * 1024
        /// Live event streams (`GET /v1/events`) open at once; more get 503. Each holds a
        /// buffer of up to 4,096 events and an HTTP connection.
        public var maxEventStreams: Int = 32

        public init() {}

        /// True for 127.0.0.0/8, ::1 and `localhost`.
        public var isLoopback: Bool {
            let h = host.lowercased()
            return h == "localhost" || h == "::1" || h.hasPrefix("127.")
        }

        /// The token from the environment; nil when the variable is unset or empty.
        public func token(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
            guard let t = environment[tokenEnvironmentVariable]?.trimmingCharacters(in: .whitespacesAndNewlines), !t.isEmpty else { return nil }
            return t
        }
    }

    /// Parses `admin: { listen: "127.0.0.1:8089", token_env: PARLEY_ADMIN_TOKEN, max_body: 10MB, max_event_streams: 32 }`.
    /// Absent: no admin API.
    static func parseAdmin(_ r: YAMLReader, _ top: [(String, YAMLReader.Value)]) throws -> Admin? {
        guard let node = r.field(top, "admin") else { return nil }
        let m = try r.mapping(node, allowed: ["listen", "token_env", "max_body", "max_event_streams"])
        var admin = Admin()
        if let v = r.field(m, "listen") {
            let text = try r.string(v)
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
                throw r.error(v, "expected host:port, e.g. 127.0.0.1:8089")
            }
            var host = String(text[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty, host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw r.error(v, "expected host:port, e.g. 127.0.0.1:8089") }
            admin.host = host
            admin.port = port
        }
        if let v = r.field(m, "token_env") {
            let name = try r.string(v)
            guard let first = name.utf8.first, !(0x30...0x39).contains(first), name.utf8.count <= 128,
                  name.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }) else {
                throw r.error(v, "expected an environment variable name (letters, digits and _), e.g. PARLEY_ADMIN_TOKEN")
            }
            admin.tokenEnvironmentVariable = name
        }
        if let v = r.field(m, "max_body") {
            admin.maxBodyBytes = try byteSize(r, v)
            guard (1024...(1 << 30)).contains(admin.maxBodyBytes) else { throw r.error(v, "must be between 1KB and 1GB") }
        }
        if let v = r.field(m, "max_event_streams") { admin.maxEventStreams = try r.int(v, in: 1...10_000) }
        return admin
    }

    /// Sizes: `512`, `64KB`, `10MB`, `1GB` (powers of 1024). Returns bytes.
    static func byteSize(_ r: YAMLReader, _ v: YAMLReader.Value) throws -> Int {
        let text = try r.string(v).trimmingCharacters(in: .whitespaces).uppercased()
        let units: [(String, Int)] = [("KB", 1 << 10), ("MB", 1 << 20), ("GB", 1 << 30), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("B", 1)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let n = Int(text.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), n >= 0, n <= (1 << 40) / scale { return n * scale }
            throw r.error(v, "expected a size such as 512KB or 10MB")
        }
        if let n = Int(text), n >= 0 { return n }
        throw r.error(v, "expected a size such as 512KB or 10MB")
    }
}
