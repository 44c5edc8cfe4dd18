/// A session description (RFC 4566) as far as a media server needs it.
public struct SessionDescription: Equatable, Sendable {
    public struct Attribute: Equatable, Sendable {
        public var name: String
        public var value: String?
        public init(_ name: String, _ value: String? = nil) { self.name = name; self.value = value }
    }

    public struct Media: Equatable, Sendable {
        public var type: String
        public var port: Int
        public var proto: String
        /// Format list (payload types for RTP/AVP), in the offerer's preference order.
        public var formats: [String]
        public var connection: String?
        public var attributes: [Attribute]

        public init(type: String, port: Int, proto: String, formats: [String], connection: String? = nil, attributes: [Attribute] = []) {
            self.type = type; self.port = port; self.proto = proto; self.formats = formats
            self.connection = connection; self.attributes = attributes
        }

        public func attribute(_ name: String) -> String? { attributes.first { $0.name == name }?.value }
        public func has(_ name: String) -> Bool { attributes.contains { $0.name == name } }

        /// `a=rtpmap:<pt> <name>/<rate>[/<channels>]` for a payload type.
        public func rtpmap(_ pt: String) -> (name: String, rate: Int, channels: Int)? {
            for a in attributes where a.name == "rtpmap" {
                guard let v = a.value else { continue }
                let parts = v.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, parts[0] == pt else { continue }
                let enc = parts[1].split(separator: "/")
                guard enc.count >= 2, let rate = Int(enc[1]) else { return nil }
                return (String(enc[0]), rate, enc.count > 2 ? Int(enc[2]) ?? 1 : 1)
            }
            return nil
        }

        public func fmtp(_ pt: String) -> String? {
            for a in attributes where a.name == "fmtp" {
                guard let v = a.value else { continue }
                let parts = v.split(separator: " ", maxSplits: 1)
                if parts.count == 2, parts[0] == pt { return String(parts[1]) }
            }
            return nil
        }

        /// The stream direction (RFC 3264 §5.1), defaulting to sendrecv.
        public var direction: Direction {
            for a in attributes { if let d = Direction(rawValue: a.name) { return d } }
            return .sendrecv
        }
    }

    public enum Direction: String, Sendable {
        case sendrecv, sendonly, recvonly, inactive

        /// The direction an answerer states for this offered direction.
        public var answer: Direction {
            switch self {
            case .sendrecv: return .sendrecv
            case .sendonly: return .recvonly
            case .recvonly: return .sendonly
            case .inactive: return .inactive
            }
        }
    }

    public var origin: String
    public var sessionName: String
    public var connection: String?
    public var attributes: [Attribute]
    public var media: [Media]

    public init(origin: String, sessionName: String = "-", connection: String? = nil, attributes: [Attribute] = [], media: [Media] = []) {
        self.origin = origin; self.sessionName = sessionName; self.connection = connection
        self.attributes = attributes; self.media = media
    }
}

public enum SDPError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformedLine(String)
    case missingField(String)
    case badMedia(String)
    case badConnection(String)

    public var description: String {
        switch self {
        case let .malformedLine(l): return "malformed SDP line: \(l.prefix(60))"
        case let .missingField(f): return "SDP lacks \(f)"
        case let .badMedia(l): return "malformed m= line: \(l.prefix(60))"
        case let .badConnection(l): return "malformed c= line: \(l.prefix(60))"
        }
    }
}

extension SessionDescription {
    /// Parses an SDP body; lenient on unknown lines and line ends, strict on the lines it uses.
    public static func parse(_ text: String) throws(SDPError) -> SessionDescription {
        var sd = SessionDescription(origin: "")
        var sawVersion = false
        var current: Media?
        for raw in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.isEmpty { continue }
            guard line.count >= 2, line.dropFirst().first == "=" else { throw .malformedLine(String(line)) }
            let key = line.first!
            let value = String(line.dropFirst(2))
            switch key {
            case "v": sawVersion = true
            case "o": sd.origin = value
            case "s": sd.sessionName = value
            case "c":
                let address = try parseConnection(value)
                if current != nil { current?.connection = address } else { sd.connection = address }
            case "m":
                if let m = current { sd.media.append(m) }
                let parts = value.split(separator: " ")
                guard parts.count >= 3 else { throw .badMedia(value) }
                let portPart = parts[1].split(separator: "/").first ?? ""
                guard let port = Int(portPart), (0...65535).contains(port) else { throw .badMedia(value) }
                current = Media(type: String(parts[0]), port: port, proto: String(parts[2]), formats: parts.dropFirst(3).map(String.init))
            case "a":
                let attr: Attribute
                if let colon = value.firstIndex(of: ":") {
                    attr = Attribute(String(value[..<colon]), String(value[value.index(after: colon)...]))
                } else {
                    attr = Attribute(value)
                }
                if current != nil { current?.attributes.append(attr) } else { sd.attributes.append(attr) }
            default: continue
            }
        }
        if let m = current { sd.media.append(m) }
        guard sawVersion else { throw .missingField("v=") }
        return sd
    }

    /// `IN IP4 192.0.2.1` or `IN IP6 2001:db8::1` → the address.
    static func parseConnection(_ value: String) throws(SDPError) -> String {
        let parts = value.split(separator: " ")
        guard parts.count == 3, parts[0] == "IN", parts[1] == "IP4" || parts[1] == "IP6" else { throw .badConnection(value) }
        let address = parts[2].split(separator: "/").first.map(String.init) ?? ""
        guard !address.isEmpty else { throw .badConnection(value) }
        return address
    }

    /// Serializes with CRLF line ends.
    public func serialized() -> String {
        var s = "v=0\r\no=\(origin)\r\ns=\(sessionName)\r\n"
        if let connection { s += "c=\(SessionDescription.connectionLine(connection))\r\n" }
        s += "t=0 0\r\n"
        for a in attributes { s += "a=\(a.name)\(a.value.map { ":" + $0 } ?? "")\r\n" }
        for m in media {
            s += "m=\(m.type) \(m.port) \(m.proto) \(m.formats.joined(separator: " "))\r\n"
            if let c = m.connection { s += "c=\(SessionDescription.connectionLine(c))\r\n" }
            for a in m.attributes { s += "a=\(a.name)\(a.value.map { ":" + $0 } ?? "")\r\n" }
        }
        return s
    }

    static func connectionLine(_ address: String) -> String {
        "IN \(address.contains(":") ? "IP6" : "IP4") \(address)"
    }
}
