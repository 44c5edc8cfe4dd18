import ParleyDSP

/// The audio codec a leg runs, as settled by offer/answer.
public enum LegCodecChoice: Sendable, Equatable {
    case g711(G711.Law)
    /// Opus (RFC 7587): RTP clock always 48 kHz; audio encoded and decoded at the rates the
    /// fmtp parameters settled on (8, 16 or 48 kHz).
    case opus(encodeRate: Int, decodeRate: Int, bitrate: Int, inbandFEC: Bool, expectedLossPercent: Int, dtx: Bool)

    /// Sample rate of the audio the leg sends (prompts are resampled to it).
    public var sendRate: Int {
        switch self {
        case .g711: return 8000
        case let .opus(encodeRate, _, _, _, _, _): return encodeRate
        }
    }

    /// Sample rate of the audio the leg decodes.
    public var receiveRate: Int {
        switch self {
        case .g711: return 8000
        case let .opus(_, decodeRate, _, _, _, _): return decodeRate
        }
    }

    /// The RTP clock of the payload format in Hz (Opus: always 48 kHz, RFC 7587 §4.1).
    public var clockRate: Int {
        switch self {
        case .g711: return 8000
        case .opus: return 48_000
        }
    }

    /// RTP timestamp units per 20 ms frame (the payload format's clock, not the audio rate).
    public var timestampStep: UInt32 {
        switch self {
        case .g711: return 160
        case .opus: return 960
        }
    }
}

/// Encoder state of a leg: one 20 ms PCM frame in, one RTP payload out.
enum LegEncoder {
    case g711(G711.Law)
    case opus(OpusEncoder)

    init(_ choice: LegCodecChoice) throws {
        switch choice {
        case let .g711(law): self = .g711(law)
        case let .opus(rate, _, bitrate, fec, loss, dtx):
            self = .opus(try OpusEncoder(sampleRate: rate, bitrate: bitrate, dtx: dtx, inbandFEC: fec,
                                         expectedPacketLossPercent: loss))
        }
    }

    /// Encodes a frame; returns the payload length (0: nothing to send, e.g. Opus DTX).
    func encode(_ pcm: UnsafeBufferPointer<Int16>, into payload: UnsafeMutableBufferPointer<UInt8>) -> Int {
        switch self {
        case let .g711(law):
            return G711.encode(law, pcm, into: payload)
        case let .opus(encoder):
            guard let n = try? encoder.encode(pcm, into: payload) else { return 0 }
            return OpusEncoder.isDiscontinuous(packetBytes: n) ? 0 : n
        }
    }

    static func decoder(for choice: LegCodecChoice) throws -> any FrameDecoder {
        switch choice {
        case let .g711(law): return G711Decoder(law: law)
        case let .opus(_, rate, _, _, _, _): return try OpusDecoder(sampleRate: rate)
        }
    }
}
