/// The Opus RTP payload format in SDP (RFC 7587): the rtpmap, the fmtp parameters, and
/// how both sides' parameters decide our encoder and decoder settings.
///
/// Pure string work; ParleySIP knows nothing of the codec itself. The composition root
/// turns `OpusStreamSettings` into a ParleyDSP `OpusEncoder`/`OpusDecoder`.
public enum OpusFormat {
    /// The encoding name in `a=rtpmap` (compared case-insensitively).
    public static let encodingName = "opus"
    /// The RTP clock rate: always 48 kHz, whatever rate the audio is coded at (RFC 7587 §4.1).
    public static let clockRate = 48000
    /// The channel count in `a=rtpmap`: always 2, even for mono streams (RFC 7587 §7).
    public static let rtpmapChannels = 2
    /// The only packet duration Parley sends, in milliseconds (one 20 ms frame per packet).
    public static let packetMilliseconds = 20
    /// Sample rates Parley's Opus encoder and decoder run at, in Hz.
    public static let sampleRates = [8000, 16000, 48000]

    /// `a=rtpmap:<pt> opus/48000/2`.
    public static func rtpmapAttribute(payloadType: UInt8) -> SessionDescription.Attribute {
        .init("rtpmap", "\(payloadType) \(encodingName)/\(clockRate)/\(rtpmapChannels)")
    }

    /// `a=fmtp:<pt> <parameters>`, or nil when every parameter is at its default
    /// (an empty fmtp line is not allowed, and leaving it out means the same).
    public static func fmtpAttribute(payloadType: UInt8, parameters: OpusParameters) -> SessionDescription.Attribute? {
        let text = parameters.formatted
        return text.isEmpty ? nil : .init("fmtp", "\(payloadType) \(text)")
    }

    /// Whether an rtpmap entry names Opus. Lenient on the channel count (RFC 7587 §7 says
    /// it MUST be 2; some endpoints write `opus/48000`), strict on the 48 kHz clock, which
    /// the RTP timestamps depend on.
    public static func isOpus(_ map: (name: String, rate: Int, channels: Int)) -> Bool {
        map.name.lowercased() == encodingName && map.rate == clockRate
    }

    /// The peer's parameters for payload type `pt` of a media section: its `a=fmtp` line
    /// (absent: all defaults), with `a=ptime` and `a=maxptime` filled in where the fmtp
    /// does not set them (RFC 7587 §6.1 defines them as those SDP attributes). Those two
    /// belong to the whole media section, not to Opus, so a bad one is ignored here.
    /// - Throws: what `OpusParameters.parse` throws for the fmtp line.
    public static func parameters(in media: SessionDescription.Media, payloadType pt: String) throws(OpusFormatError) -> OpusParameters {
        var p = OpusParameters()
        if let text = media.fmtp(pt) { p = try OpusParameters.parse(text) }
        if p.ptime == nil, let v = media.attribute("ptime") { p.ptime = try? OpusParameters.packetTime("ptime", v) }
        if p.maxptime == nil, let v = media.attribute("maxptime") { p.maxptime = try? OpusParameters.packetTime("maxptime", v) }
        return p
    }

    /// Decides how to encode what we send and decode what we receive.
    ///
    /// - Encoder sample rate: the highest of `sampleRates` not above the peer's
    ///   `maxplaybackrate` (encoding wider than the peer plays wastes bits, RFC 7587 §6.1)
    ///   nor our `sprop-maxcapturerate` (our audio has nothing above it); 8 kHz at least.
    /// - Decoder sample rate: the lowest of `sampleRates` that keeps everything both our
    ///   `maxplaybackrate` and the peer's `sprop-maxcapturerate` allow.
    /// - Bitrate: `preferredBitrate`, capped by the peer's `maxaveragebitrate`.
    /// - In-band FEC when the peer says `useinbandfec=1` (its decoder can use it), with
    ///   `expectedPacketLossPercent` so that libopus actually spends bits on it.
    /// - DTX when the peer says `usedtx=1`; constant bitrate when it says `cbr=1`.
    /// - Throws: `.unsupportedPacketTime` when the peer's `maxptime` is below, or its
    ///   `minptime` above, the 20 ms Parley sends.
    public static func settings(peer: OpusParameters, local: OpusParameters,
                                preferredBitrate: Int = 24_000, expectedPacketLossPercent: Int = 10)
        throws(OpusFormatError) -> OpusStreamSettings {
        let ms = packetMilliseconds
        if let maxptime = peer.maxptime, maxptime < ms { throw .unsupportedPacketTime(milliseconds: ms, peerMin: peer.minptime, peerMax: maxptime) }
        if let minptime = peer.minptime, minptime > ms { throw .unsupportedPacketTime(milliseconds: ms, peerMin: minptime, peerMax: peer.maxptime) }

        let sendLimit = min(peer.effectiveMaxPlaybackRate, local.effectiveMaxCaptureRate)
        let encodeRate = sampleRates.last { $0 <= sendLimit } ?? 8000
        let receiveLimit = min(local.effectiveMaxPlaybackRate, peer.effectiveMaxCaptureRate)
        let decodeRate = sampleRates.first { $0 >= receiveLimit } ?? 48000

        var bitrate = min(preferredBitrate, peer.maxAverageBitrate ?? OpusParameters.bitrateRange.upperBound)
        bitrate = min(max(bitrate, OpusParameters.bitrateRange.lowerBound), OpusParameters.bitrateRange.upperBound)
        let fec = peer.useInbandFEC ?? false
        return OpusStreamSettings(encodeSampleRate: encodeRate, decodeSampleRate: decodeRate, bitrate: bitrate,
                                  inbandFEC: fec, expectedPacketLossPercent: fec ? max(0, min(expectedPacketLossPercent, 100)) : 0,
                                  dtx: peer.useDTX ?? false, constantBitrate: peer.cbr ?? false, packetMilliseconds: ms)
    }
}

/// How Parley runs Opus on one stream, decided by `OpusFormat.settings(peer:local:)`.
public struct OpusStreamSettings: Equatable, Sendable {
    /// Sample rate of our encoder, in Hz.
    public var encodeSampleRate: Int
    /// Sample rate of our decoder, in Hz (any rate decodes any packet; this picks the output).
    public var decodeSampleRate: Int
    /// Encoder target bitrate, in bits per second.
    public var bitrate: Int
    public var inbandFEC: Bool
    /// Expected loss for the encoder's FEC, in percent (0 when FEC is off).
    public var expectedPacketLossPercent: Int
    public var dtx: Bool
    public var constantBitrate: Bool
    /// Audio per packet, in milliseconds.
    public var packetMilliseconds: Int

    public init(encodeSampleRate: Int, decodeSampleRate: Int, bitrate: Int, inbandFEC: Bool,
                expectedPacketLossPercent: Int, dtx: Bool, constantBitrate: Bool, packetMilliseconds: Int) {
        self.encodeSampleRate = encodeSampleRate; self.decodeSampleRate = decodeSampleRate; self.bitrate = bitrate
        self.inbandFEC = inbandFEC; self.expectedPacketLossPercent = expectedPacketLossPercent
        self.dtx = dtx; self.constantBitrate = constantBitrate; self.packetMilliseconds = packetMilliseconds
    }
}

/// Errors in Opus fmtp parameters; each names the parameter and the offending text.
public enum OpusFormatError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An `a=fmtp` value that does not start with a payload type (`<pt> <parameters>`).
    case malformedFmtp(String)
    /// A known parameter without `=value`.
    case missingValue(parameter: String)
    /// A known parameter whose value is not what RFC 7587 allows; `expected` says what is.
    case invalidValue(parameter: String, value: String, expected: String)
    /// The peer wants packets Parley does not send (`milliseconds` is what it sends).
    case unsupportedPacketTime(milliseconds: Int, peerMin: Int?, peerMax: Int?)

    public var description: String {
        switch self {
        case let .malformedFmtp(text): return "malformed Opus a=fmtp value: \(text.prefix(80))"
        case let .missingValue(parameter): return "Opus fmtp parameter \(parameter) has no value"
        case let .invalidValue(parameter, value, expected):
            return "Opus fmtp parameter \(parameter)=\(value.prefix(40)) is invalid: expected \(expected)"
        case let .unsupportedPacketTime(ms, peerMin, peerMax):
            return "peer accepts Opus packets of \(peerMin.map(String.init) ?? "3")...\(peerMax.map(String.init) ?? "120") ms; Parley sends \(ms) ms"
        }
    }
}

/// The fmtp parameters of the Opus payload format (RFC 7587 §6.1), plus `minptime`.
///
/// Each known parameter is nil when absent; `effective…` gives the RFC default then.
/// Parameters unknown here are kept in `other`, in order, and written back after the
/// known ones, so a parse/format round trip loses nothing (receivers ignore parameters
/// they do not understand, RFC 4566 §6).
///
/// "Receive" parameters describe what the side that writes them wants to receive
/// (`maxplaybackrate`, `maxaveragebitrate`, `stereo`, `cbr`, `useinbandfec`, `usedtx`,
/// the packet times); `sprop-` parameters describe what it sends.
public struct OpusParameters: Equatable, Sendable {
    /// Highest sample rate the receiver renders, in Hz (8000...48000; default 48000).
    public var maxPlaybackRate: Int?
    /// Highest sample rate the sender captures, in Hz (8000...48000; default 48000).
    public var spropMaxCaptureRate: Int?
    /// Highest average bitrate the receiver wants, in bits per second (6000...510000).
    public var maxAverageBitrate: Int?
    /// The receiver prefers stereo (default: mono).
    public var stereo: Bool?
    /// The sender is likely to send stereo (default: mono).
    public var spropStereo: Bool?
    /// The receiver prefers constant bitrate (default: VBR).
    public var cbr: Bool?
    /// The receiver's decoder can use in-band FEC (default: no).
    public var useInbandFEC: Bool?
    /// The receiver prefers DTX (default: no).
    public var useDTX: Bool?
    /// Preferred packet duration in milliseconds (3...120; default 20). Properly `a=ptime`.
    public var ptime: Int?
    /// Shortest packet duration the receiver wants, in milliseconds (3...120). Not in
    /// RFC 7587, but WebRTC endpoints send `minptime=10`.
    public var minptime: Int?
    /// Longest packet duration the receiver takes, in milliseconds (3...120; default 120).
    /// Properly `a=maxptime`.
    public var maxptime: Int?
    /// Parameters not listed above, with their values as written (nil: no `=`).
    public var other: [Parameter]

    public struct Parameter: Equatable, Sendable {
        public var name: String
        public var value: String?
        public init(_ name: String, _ value: String?) { self.name = name; self.value = value }
    }

    public static let sampleRateRange: ClosedRange<Int> = 8000...48000
    public static let bitrateRange: ClosedRange<Int> = 6000...510_000
    public static let packetTimeRange: ClosedRange<Int> = 3...120

    public init(maxPlaybackRate: Int? = nil, spropMaxCaptureRate: Int? = nil, maxAverageBitrate: Int? = nil,
                stereo: Bool? = nil, spropStereo: Bool? = nil, cbr: Bool? = nil, useInbandFEC: Bool? = nil,
                useDTX: Bool? = nil, ptime: Int? = nil, minptime: Int? = nil, maxptime: Int? = nil, other: [Parameter] = []) {
        self.maxPlaybackRate = maxPlaybackRate; self.spropMaxCaptureRate = spropMaxCaptureRate
        self.maxAverageBitrate = maxAverageBitrate; self.stereo = stereo; self.spropStereo = spropStereo
        self.cbr = cbr; self.useInbandFEC = useInbandFEC; self.useDTX = useDTX
        self.ptime = ptime; self.minptime = minptime; self.maxptime = maxptime; self.other = other
    }

    /// `maxplaybackrate` or its default, 48000 Hz.
    public var effectiveMaxPlaybackRate: Int { maxPlaybackRate ?? 48000 }
    /// `sprop-maxcapturerate` or its default, 48000 Hz.
    public var effectiveMaxCaptureRate: Int { spropMaxCaptureRate ?? 48000 }

    // MARK: Parsing

    /// Parses the parameter list of an Opus fmtp line: `name=value` pairs separated by `;`,
    /// with optional spaces (`minptime=10; useinbandfec=1`). Names are case-insensitive.
    /// Empty items are skipped; unknown parameters go to `other`; a repeated parameter
    /// takes its last value.
    /// - Throws: the first known parameter whose value RFC 7587 does not allow (not a
    ///   number, out of range, a flag other than 0 or 1). `parseIgnoringInvalid` skips those.
    public static func parse(_ text: String) throws(OpusFormatError) -> OpusParameters {
        let (parameters, problems) = parseIgnoringInvalid(text)
        if let first = problems.first { throw first }
        return parameters
    }

    /// Like `parse`, but a known parameter with a bad value is left at its default and
    /// reported in `ignored`: for answering peers whose fmtp is slightly off without
    /// refusing the call (the caller logs `ignored`).
    public static func parseIgnoringInvalid(_ text: String) -> (parameters: OpusParameters, ignored: [OpusFormatError]) {
        var p = OpusParameters()
        var ignored: [OpusFormatError] = []
        for item in text.split(separator: ";") {
            let pair = trimmed(item)
            if pair.isEmpty { continue }
            let name: String, value: String?
            if let eq = pair.firstIndex(of: "=") {
                name = String(trimmed(pair[..<eq])); value = String(trimmed(pair[pair.index(after: eq)...]))
            } else {
                name = String(pair); value = nil
            }
            do throws(OpusFormatError) {
                try p.set(name: name, value: value)
            } catch {
                ignored.append(error)
            }
        }
        return (p, ignored)
    }

    /// Parses a whole `a=fmtp` value, `<pt> <parameters>`, as `SessionDescription` stores it
    /// (a leading `a=fmtp:` or `fmtp:` is also accepted).
    public static func parse(fmtp text: String) throws(OpusFormatError) -> (payloadType: UInt8, parameters: OpusParameters) {
        var rest = Substring(text)
        if rest.hasPrefix("a=") { rest = rest.dropFirst(2) }
        if rest.hasPrefix("fmtp:") { rest = rest.dropFirst(5) }
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard let pt = UInt8(digits), pt < 128 else { throw .malformedFmtp(text) }
        let after = rest.dropFirst(digits.count)
        guard after.isEmpty || after.first == " " || after.first == "\t" else { throw .malformedFmtp(text) }
        return (pt, try parse(String(after)))
    }

    private mutating func set(name: String, value: String?) throws(OpusFormatError) {
        switch name.lowercased() {
        case "maxplaybackrate": maxPlaybackRate = try OpusParameters.integer(name, value, in: OpusParameters.sampleRateRange, unit: "Hz")
        case "sprop-maxcapturerate": spropMaxCaptureRate = try OpusParameters.integer(name, value, in: OpusParameters.sampleRateRange, unit: "Hz")
        case "maxaveragebitrate": maxAverageBitrate = try OpusParameters.integer(name, value, in: OpusParameters.bitrateRange, unit: "b/s")
        case "stereo": stereo = try OpusParameters.flag(name, value)
        case "sprop-stereo": spropStereo = try OpusParameters.flag(name, value)
        case "cbr": cbr = try OpusParameters.flag(name, value)
        case "useinbandfec": useInbandFEC = try OpusParameters.flag(name, value)
        case "usedtx": useDTX = try OpusParameters.flag(name, value)
        case "ptime": ptime = try OpusParameters.packetTime(name, value)
        case "minptime": minptime = try OpusParameters.packetTime(name, value)
        case "maxptime": maxptime = try OpusParameters.packetTime(name, value)
        default: other.append(Parameter(name, value))
        }
    }

    static func packetTime(_ name: String, _ value: String?) throws(OpusFormatError) -> Int {
        try integer(name, value, in: packetTimeRange, unit: "ms")
    }

    private static func integer(_ name: String, _ value: String?, in range: ClosedRange<Int>, unit: String) throws(OpusFormatError) -> Int {
        guard let value else { throw .missingValue(parameter: name) }
        // Digits only: Int("+8000") would pass, and nothing else writes it.
        guard !value.isEmpty, value.count <= 9, value.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(value), range.contains(n) else {
            throw .invalidValue(parameter: name, value: value, expected: "an integer \(range.lowerBound)...\(range.upperBound) \(unit)")
        }
        return n
    }

    private static func flag(_ name: String, _ value: String?) throws(OpusFormatError) -> Bool {
        guard let value else { throw .missingValue(parameter: name) }
        switch value {
        case "0": return false
        case "1": return true
        default: throw .invalidValue(parameter: name, value: value, expected: "0 or 1")
        }
    }

    private static func trimmed(_ s: Substring) -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = s.firstIndex(where: { !isSpace($0) }), let end = s.lastIndex(where: { !isSpace($0) }) else { return "" }
        return s[start...end]
    }

    // MARK: Formatting

    /// The parameter list for an fmtp line: the set parameters in RFC 7587 order, then
    /// `other`, joined by `;` without spaces. Empty when nothing is set.
    public var formatted: String {
        var items: [String] = []
        func add(_ name: String, _ v: Int?) { if let v { items.append("\(name)=\(v)") } }
        func add(_ name: String, _ v: Bool?) { if let v { items.append("\(name)=\(v ? 1 : 0)") } }
        add("maxplaybackrate", maxPlaybackRate)
        add("sprop-maxcapturerate", spropMaxCaptureRate)
        add("maxaveragebitrate", maxAverageBitrate)
        add("stereo", stereo)
        add("sprop-stereo", spropStereo)
        add("cbr", cbr)
        add("useinbandfec", useInbandFEC)
        add("usedtx", useDTX)
        add("ptime", ptime)
        add("minptime", minptime)
        add("maxptime", maxptime)
        for o in other { items.append(o.value.map { "\(o.name)=\($0)" } ?? o.name) }
        return items.joined(separator: ";")
    }
}
