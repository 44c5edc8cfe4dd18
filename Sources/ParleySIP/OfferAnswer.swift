/// A codec the server can use for audio, as SDP names it.
public struct AudioCodec: Equatable, Hashable, Sendable {
    public var name: String
    public var clockRate: Int
    /// Static payload type (RFC 3551), or nil for dynamic codecs.
    public var staticPayloadType: UInt8?
    /// Channels as written in rtpmap (Opus is always `opus/48000/2`, RFC 7587 §7).
    public var channels: Int

    public init(name: String, clockRate: Int, staticPayloadType: UInt8?, channels: Int = 1) {
        self.name = name; self.clockRate = clockRate; self.staticPayloadType = staticPayloadType; self.channels = channels
    }

    public static let pcmu = AudioCodec(name: "PCMU", clockRate: 8000, staticPayloadType: 0)
    public static let pcma = AudioCodec(name: "PCMA", clockRate: 8000, staticPayloadType: 8)
    public static let opus = AudioCodec(name: "opus", clockRate: 48000, staticPayloadType: nil, channels: 2)

    /// The rtpmap encoding: `PCMU/8000`, `opus/48000/2`.
    public var rtpmapEncoding: String { channels > 1 ? "\(name)/\(clockRate)/\(channels)" : "\(name)/\(clockRate)" }

    /// A codec by its configuration name (case-insensitive): PCMU, PCMA, opus.
    public static func named(_ name: String) -> AudioCodec? {
        [pcmu, pcma, opus].first { $0.name.lowercased() == name.lowercased() }
    }
}

/// What an RFC 3264 answer settled for the audio stream.
public struct NegotiatedAudio: Equatable, Sendable {
    public var codec: AudioCodec
    public var payloadType: UInt8
    /// Payload type of `telephone-event` (at the codec's clock rate when offered, else 8000), if both sides have it.
    public var telephoneEventPayloadType: UInt8?
    /// Clock rate of that telephone-event stream.
    public var telephoneEventClockRate: Int
    /// The offer's fmtp parameters for the chosen payload type (Opus settings), if any.
    public var formatParameters: String?
    /// RTCP multiplexed on the RTP port (RFC 5761), when the offer asked for it.
    public var rtcpMux: Bool = false
    /// Payload type of comfort noise (RFC 3389, `CN/8000`, static 13) when the offer has it
    /// and the codec runs at 8 kHz: the peer's silence suppression is then played as noise.
    public var comfortNoisePayloadType: UInt8? = nil
    public var remoteAddress: String
    public var remotePort: Int
    /// The direction this side states in the answer.
    public var direction: SessionDescription.Direction
    public var ptime: Int
}

public enum OfferAnswerError: Error, Equatable, Sendable, CustomStringConvertible {
    case answerNotOffered(payloadType: String)
    case noAudio
    case noCommonCodec(offered: [String])
    case noConnectionAddress

    public var description: String {
        switch self {
        case let .answerNotOffered(pt): return "the answer chose payload type \(pt), which was not offered"
        case .noAudio: return "the offer has no usable audio stream"
        case let .noCommonCodec(offered): return "no common codec (offered \(offered.joined(separator: ", ")))"
        case .noConnectionAddress: return "the offer has no connection address"
        }
    }
}

/// RFC 3264 answerer for one audio stream.
public struct OfferAnswer: Sendable {
    /// Codecs this side supports, used in the offerer's preference order.
    public var supported: [AudioCodec]

    /// fmtp parameters this side states for Opus in its answer (RFC 7587).
    public var opusParameters: OpusParameters

    public init(supported: [AudioCodec] = [.pcmu, .pcma, .opus],
                opusParameters: OpusParameters = OpusParameters(maxPlaybackRate: 16000, spropMaxCaptureRate: 16000, useInbandFEC: true)) {
        self.supported = supported
        self.opusParameters = opusParameters
    }

    /// Chooses the codec and builds the answer. Streams other than the first usable RTP/AVP
    /// audio stream are declined with port 0 (§6).
    public func answer(offer: SessionDescription, localAddress: String, localPort: Int, sessionID: UInt64)
        throws(OfferAnswerError) -> (answer: SessionDescription, negotiated: NegotiatedAudio) {
        var chosen: (index: Int, negotiated: NegotiatedAudio)?
        var offeredNames: [String] = []
        for (index, m) in offer.media.enumerated() where chosen == nil {
            guard m.type == "audio", m.port != 0, m.proto.hasPrefix("RTP/AVP") else { continue }
            // telephone-event at each clock rate offered (RFC 4733 §7.1.1: it should match the audio clock).
            var telephoneEvents: [Int: UInt8] = [:]
            for f in m.formats {
                if let map = m.rtpmap(f), map.name.lowercased() == "telephone-event", let pt = UInt8(f), pt < 128,
                   telephoneEvents[map.rate] == nil {
                    telephoneEvents[map.rate] = pt
                }
            }
            let comfortNoise = m.formats.lazy.compactMap { f -> UInt8? in
                guard let pt = UInt8(f), pt < 128 else { return nil }
                guard let map = m.rtpmap(f) else { return pt == 13 ? pt : nil }
                return map.name.uppercased() == "CN" && map.rate == 8000 ? pt : nil
            }.first
            for f in m.formats {
                guard let pt = UInt8(f), pt < 128 else { continue }
                let map = m.rtpmap(f)
                offeredNames.append(map?.name ?? f)
                let codec = supported.first { c in
                    if let map { return map.name.uppercased() == c.name.uppercased() && map.rate == c.clockRate }
                    return c.staticPayloadType == pt
                }
                if let codec {
                    guard let address = m.connection ?? offer.connection else { throw .noConnectionAddress }
                    let ptime = m.attribute("ptime").flatMap { Int($0) } ?? 20
                    let teRate = telephoneEvents[codec.clockRate] != nil ? codec.clockRate : 8000
                    chosen = (index, NegotiatedAudio(codec: codec, payloadType: pt, telephoneEventPayloadType: telephoneEvents[teRate],
                                                     telephoneEventClockRate: teRate, formatParameters: m.fmtp(f),
                                                     rtcpMux: m.has("rtcp-mux"),
                                                     comfortNoisePayloadType: codec.clockRate == 8000 ? comfortNoise : nil,
                                                     remoteAddress: address, remotePort: m.port,
                                                     direction: m.direction.answer, ptime: ptime))
                    break
                }
            }
        }
        guard let chosen else {
            if offer.media.contains(where: { $0.type == "audio" && $0.port != 0 }) { throw .noCommonCodec(offered: offeredNames) }
            throw .noAudio
        }
        var answer = SessionDescription(origin: "parley \(sessionID) \(sessionID) IN \(localAddress.contains(":") ? "IP6" : "IP4") \(localAddress)",
                                        sessionName: "parley", connection: localAddress)
        for (index, m) in offer.media.enumerated() {
            if index != chosen.index {
                answer.media.append(.init(type: m.type, port: 0, proto: m.proto, formats: m.formats))
                continue
            }
            let n = chosen.negotiated
            var formats = ["\(n.payloadType)"]
            var attrs = [SessionDescription.Attribute("rtpmap", "\(n.payloadType) \(n.codec.rtpmapEncoding)")]
            if n.codec == .opus, let fmtp = OpusFormat.fmtpAttribute(payloadType: n.payloadType, parameters: opusParameters) {
                attrs.append(fmtp)
            }
            if let te = n.telephoneEventPayloadType {
                formats.append("\(te)")
                attrs.append(.init("rtpmap", "\(te) telephone-event/\(n.telephoneEventClockRate)"))
                attrs.append(.init("fmtp", "\(te) 0-16"))
            }
            if let cn = n.comfortNoisePayloadType {
                formats.append("\(cn)")
                attrs.append(.init("rtpmap", "\(cn) CN/8000"))
            }
            attrs.append(.init("ptime", "20"))
            if n.rtcpMux { attrs.append(.init("rtcp-mux")) }
            attrs.append(.init(n.direction.rawValue))
            answer.media.append(.init(type: "audio", port: localPort, proto: m.proto, formats: formats, attributes: attrs))
        }
        return (answer, chosen.negotiated)
    }
}

extension OfferAnswer {
    /// Dynamic payload types this side uses when it makes the offer.
    static let opusPayloadType: UInt8 = 111
    static let telephoneEventPayloadType: UInt8 = 101

    /// The offer this side makes when an INVITE came without one (RFC 3261 §13.2.1: the offer
    /// goes in the 2xx, the answer comes in the ACK): every supported codec in our order,
    /// plus telephone-event/8000.
    public func offer(localAddress: String, localPort: Int, sessionID: UInt64) -> SessionDescription {
        var formats: [String] = []
        var attrs: [SessionDescription.Attribute] = []
        for codec in supported {
            let pt = codec.staticPayloadType ?? OfferAnswer.opusPayloadType
            formats.append("\(pt)")
            attrs.append(.init("rtpmap", "\(pt) \(codec.rtpmapEncoding)"))
            if codec == .opus, let fmtp = OpusFormat.fmtpAttribute(payloadType: pt, parameters: opusParameters) { attrs.append(fmtp) }
        }
        let te = OfferAnswer.telephoneEventPayloadType
        formats.append("\(te)")
        attrs += [.init("rtpmap", "\(te) telephone-event/8000"), .init("fmtp", "\(te) 0-16"), .init("ptime", "20"), .init("sendrecv")]
        return SessionDescription(origin: "parley \(sessionID) \(sessionID) IN \(localAddress.contains(":") ? "IP6" : "IP4") \(localAddress)",
                                  sessionName: "parley", connection: localAddress,
                                  media: [.init(type: "audio", port: localPort, proto: "RTP/AVP", formats: formats, attributes: attrs)])
    }

    /// Reads the peer's answer to our `offer`: the first payload type it kept is the codec.
    public func accept(answer: SessionDescription, to offer: SessionDescription) throws(OfferAnswerError) -> NegotiatedAudio {
        guard let m = answer.media.first(where: { $0.type == "audio" && $0.port != 0 }), let ours = offer.media.first else {
            throw .noAudio
        }
        guard let address = m.connection ?? answer.connection else { throw .noConnectionAddress }
        var codec: (AudioCodec, UInt8)?
        var telephoneEvent: UInt8?
        for f in m.formats {
            guard ours.formats.contains(f), let pt = UInt8(f) else { continue }
            let map = ours.rtpmap(f)
            if map?.name.lowercased() == "telephone-event" { telephoneEvent = telephoneEvent ?? pt; continue }
            if codec == nil, let c = supported.first(where: { c in map.map { $0.name.lowercased() == c.name.lowercased() } ?? (c.staticPayloadType == pt) }) {
                codec = (c, pt)
            }
        }
        guard let (c, pt) = codec else {
            if let first = m.formats.first, !ours.formats.contains(first) { throw .answerNotOffered(payloadType: first) }
            throw .noCommonCodec(offered: m.formats)
        }
        return NegotiatedAudio(codec: c, payloadType: pt, telephoneEventPayloadType: telephoneEvent, telephoneEventClockRate: 8000,
                               formatParameters: m.fmtp("\(pt)"), remoteAddress: address, remotePort: m.port,
                               direction: m.direction, ptime: 20)
    }
}
