import COpus

/// Opus (RFC 6716) through the system libopus: the parts an encoder and a decoder share.
///
/// Parley runs Opus mono, in 20 ms frames, at 8, 16 or 48 kHz: narrowband for
/// G.711-quality legs and prompts, wideband for HD voice, fullband for WebRTC peers.
/// (libopus also runs at 12 and 24 kHz; nothing in Parley produces audio at those rates,
/// so they are refused rather than left untested.)
public enum Opus {
    /// The sample rates `OpusEncoder` and `OpusDecoder` accept, in Hz.
    public static let supportedSampleRates: [Int] = [8000, 16000, 48000]

    /// Frame duration in milliseconds: one frame per 20 ms media tick, one per RTP packet.
    public static let frameMilliseconds = 20

    /// Samples in one 20 ms frame at `sampleRate` Hz (160, 320 or 960).
    @inlinable
    public static func frameSamples(sampleRate: Int) -> Int { sampleRate / 1000 * frameMilliseconds }

    /// The largest packet one 20 ms frame can produce, in bytes (TOC byte + 1275; RFC 6716 §3.2.1).
    /// libopus never writes more than this for a single frame, so a buffer this big always suffices.
    public static let maxPacketBytes = 1276

    /// The longest audio one packet may carry, in milliseconds (RFC 6716 §3.2.5).
    /// A decoder's PCM buffer this long (`maxPacketSamples`) accepts any valid packet.
    public static let maxPacketMilliseconds = 120

    /// Samples in `maxPacketMilliseconds` at `sampleRate` Hz.
    @inlinable
    public static func maxPacketSamples(sampleRate: Int) -> Int { sampleRate / 1000 * maxPacketMilliseconds }

    /// The version string of the libopus in use, e.g. "libopus 1.3.1".
    public static var libraryVersion: String { String(cString: opus_get_version_string()) }

    /// The rate as libopus takes it, or `.unsupportedSampleRate`.
    static func validated(sampleRate: Int) throws(OpusError) -> Int32 {
        guard supportedSampleRates.contains(sampleRate), let rate = Int32(exactly: sampleRate) else {
            throw .unsupportedSampleRate(sampleRate)
        }
        return rate
    }
}

/// What Parley was doing when libopus reported an error: the context of an `OpusError`.
/// Carries only numbers, so throwing from the per-frame path allocates nothing.
public enum OpusOperation: Equatable, Sendable, CustomStringConvertible {
    case createEncoder(sampleRate: Int)
    case createDecoder(sampleRate: Int)
    /// An encoder setting (`OpusSetting`) being applied, with its value.
    case configure(OpusSetting, value: Int)
    /// Encoding one frame of `samples` samples.
    case encode(samples: Int)
    /// Decoding a packet of `packetBytes` bytes.
    case decode(packetBytes: Int)
    /// Recovering a lost frame from the in-band FEC of the next packet (`packetBytes` long).
    case decodeFEC(packetBytes: Int)
    /// Concealing a lost frame without a packet (libopus PLC).
    case conceal
    case resetDecoder

    public var description: String {
        switch self {
        case let .createEncoder(rate): return "creating a \(rate) Hz Opus encoder"
        case let .createDecoder(rate): return "creating a \(rate) Hz Opus decoder"
        case let .configure(setting, value): return "setting Opus \(setting) to \(value)"
        case let .encode(samples): return "encoding a \(samples)-sample Opus frame"
        case let .decode(bytes): return "decoding a \(bytes)-byte Opus packet"
        case let .decodeFEC(bytes): return "recovering a lost frame from the FEC of a \(bytes)-byte Opus packet"
        case .conceal: return "concealing a lost Opus frame"
        case .resetDecoder: return "resetting an Opus decoder"
        }
    }
}

/// The encoder settings that can be changed, named for error messages.
public enum OpusSetting: String, Sendable, CustomStringConvertible {
    case bitrate
    case complexity
    case dtx
    case inbandFEC = "in-band FEC"
    case expectedPacketLoss = "expected packet loss"
    case constantBitrate = "constant bitrate"
    case signal

    public var description: String { rawValue }
}

/// Errors from the Opus encoder and decoder. Each names what was being done; errors from
/// libopus keep its return code and print its message (`opus_strerror`).
public enum OpusError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not one of `Opus.supportedSampleRates` (Hz).
    case unsupportedSampleRate(Int)
    /// A setting outside the range Parley allows (see `OpusEncoder`'s setters for the ranges).
    case invalidSetting(OpusSetting, value: Int, allowed: ClosedRange<Int>)
    /// `encode` takes exactly one 20 ms frame; `got` samples were passed.
    case wrongFrameLength(expected: Int, got: Int)
    /// An output buffer shorter than the operation needs (bytes for packets, samples for PCM).
    case bufferTooSmall(OpusOperation, needed: Int, available: Int)
    /// A zero-length payload: RFC 6716 §3.1 requires at least the TOC byte. (libopus would
    /// treat it as a lost packet; losses go through `OpusDecoder.decodeLost` instead.)
    case emptyPacket
    /// A packet longer than libopus can be handed (its length is a 32-bit int).
    case packetTooLarge(bytes: Int)
    /// libopus returned `code` (one of the `OPUS_*` error codes, all negative).
    case library(OpusOperation, code: Int32)

    /// The libopus return code, for errors that came from libopus.
    public var libraryCode: Int32? {
        if case let .library(_, code) = self { return code }
        return nil
    }

    /// Whether libopus found the packet malformed (`OPUS_INVALID_PACKET`): the sender's or
    /// the network's fault, to be counted and skipped, unlike the other errors.
    public var isInvalidPacket: Bool { libraryCode == OPUS_INVALID_PACKET }

    public var description: String {
        switch self {
        case let .unsupportedSampleRate(rate):
            let rates = Opus.supportedSampleRates.map(String.init).joined(separator: ", ")
            return "Opus sample rate \(rate) Hz is not supported (use \(rates))"
        case let .invalidSetting(setting, value, allowed):
            return "Opus \(setting) \(value) is out of range \(allowed.lowerBound)...\(allowed.upperBound)"
        case let .wrongFrameLength(expected, got):
            return "Opus encodes 20 ms frames of \(expected) samples; got \(got)"
        case let .bufferTooSmall(operation, needed, available):
            return "\(operation): buffer holds \(available), needs \(needed)"
        case .emptyPacket:
            return "empty Opus packet (a packet has at least its TOC byte)"
        case let .packetTooLarge(bytes):
            return "Opus packet of \(bytes) bytes is too large"
        case let .library(operation, code):
            return "\(operation): \(String(cString: opus_strerror(code))) (libopus \(code))"
        }
    }
}
