import CSpanDSP

/// Why a payload could not be decoded.
public enum CodecError: Error, Equatable, CustomStringConvertible {
    case outputTooSmall(needed: Int, available: Int)
    case emptyPayload
    case corrupt(codec: String, reason: String)
    case unsupported(codec: String, reason: String)

    public var description: String {
        switch self {
        case let .outputTooSmall(needed, available): return "output buffer holds \(available) samples, \(needed) needed"
        case .emptyPayload: return "empty payload"
        case let .corrupt(codec, reason): return "\(codec): corrupt payload: \(reason)"
        case let .unsupported(codec, reason): return "\(codec): \(reason)"
        }
    }
}

/// A receive-side decoder as the jitter buffer sees it: every codec decodes a payload,
/// and every codec answers a lost frame through the same `conceal` call — G.711 with
/// spandsp's packet-loss concealment, Opus with its in-band FEC or its own PLC.
///
/// Confined to one stream (one thread at a time); allocation-free per frame.
public protocol FrameDecoder: AnyObject {
    /// Output sample rate in Hz.
    var sampleRate: Int { get }
    /// Decodes one RTP payload into 16-bit PCM; returns the samples written.
    func decode(_ payload: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<Int16>) throws(CodecError) -> Int
    /// Produces `samples` samples standing in for a lost frame. `next` is the payload that
    /// follows the gap, when it has already arrived (codecs with in-band FEC use it).
    /// Returns the samples written.
    func conceal(samples: Int, next: UnsafeRawBufferPointer?, into output: UnsafeMutableBufferPointer<Int16>) -> Int
}

/// G.711 decoding with ITU-T G.711 Appendix I style concealment (spandsp's PLC): good
/// frames feed the concealer's history; lost frames are synthesized from it, fading out
/// over about 50 ms of consecutive loss.
public final class G711Decoder: FrameDecoder {
    public let law: G711.Law
    public let sampleRate = 8000
    private var plc: UnsafeMutablePointer<plc_state_t>?

    public init(law: G711.Law) {
        self.law = law
        plc = plc_init(nil)
    }

    deinit {
        if let plc { plc_free(plc) }
    }

    public func decode(_ payload: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<Int16>) throws(CodecError) -> Int {
        guard payload.count > 0 else { throw .emptyPayload }
        guard output.count >= payload.count else { throw .outputTooSmall(needed: payload.count, available: output.count) }
        let n = G711.decode(law, payload.assumingMemoryBound(to: UInt8.self), into: output)
        if let plc, let base = output.baseAddress { _ = plc_rx(plc, base, Int32(n)) }
        return n
    }

    public func conceal(samples: Int, next: UnsafeRawBufferPointer?, into output: UnsafeMutableBufferPointer<Int16>) -> Int {
        let n = min(samples, output.count)
        guard n > 0, let base = output.baseAddress else { return 0 }
        if let plc {
            _ = plc_fillin(plc, base, Int32(n))
        } else {
            for i in 0..<n { base[i] = 0 }
        }
        return n
    }
}
