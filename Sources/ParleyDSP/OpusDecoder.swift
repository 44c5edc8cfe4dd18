import COpus

/// An Opus decoder (libopus): packets in, mono 16-bit PCM out at `sampleRate`, whatever
/// rate or channel count the sender encoded at (RFC 7587 §3: any decoder decodes any packet).
///
/// One decoder per incoming stream; not thread-safe (confine it to the stream's event loop).
/// The libopus state is allocated once, in `init`; decoding allocates nothing.
///
/// Packets come from the network, so nothing here trusts them: an empty, truncated,
/// oversized or corrupt packet is a thrown `OpusError`, and the decoder stays usable.
public final class OpusDecoder {
    /// Output sample rate in Hz (8000, 16000 or 48000).
    public let sampleRate: Int
    /// Samples in one 20 ms frame: what `decodeLost` produces.
    public let frameSize: Int
    /// Samples in the longest packet (120 ms): a PCM buffer this long accepts any valid packet.
    public let maxPacketSamples: Int

    private let state: OpaquePointer

    /// - Throws: `.unsupportedSampleRate` for rates other than 8000, 16000 and 48000 Hz,
    ///   `.library` if libopus refuses.
    public init(sampleRate: Int) throws(OpusError) {
        let rate = try Opus.validated(sampleRate: sampleRate)
        var error: Int32 = OPUS_OK
        guard let state = opus_decoder_create(rate, 1, &error), error == OPUS_OK else {
            throw .library(.createDecoder(sampleRate: sampleRate), code: error == OPUS_OK ? OPUS_ALLOC_FAIL : error)
        }
        self.state = state
        self.sampleRate = sampleRate
        self.frameSize = Opus.frameSamples(sampleRate: sampleRate)
        self.maxPacketSamples = Opus.maxPacketSamples(sampleRate: sampleRate)
    }

    deinit { opus_decoder_destroy(state) }

    /// Decodes one packet (usually 20 ms; any valid duration from 2.5 to 120 ms is accepted).
    /// - Parameters:
    ///   - packet: the RTP payload.
    ///   - pcm: room for the packet's duration; `frameSize` for 20 ms packets,
    ///     `maxPacketSamples` for anything.
    /// - Returns: the number of samples written.
    /// - Throws: `.emptyPacket`; `.library(.decode, OPUS_INVALID_PACKET)` for a packet that
    ///   does not parse; `.bufferTooSmall` when `pcm` is shorter than the packet's duration.
    public func decode(_ packet: UnsafeBufferPointer<UInt8>, into pcm: UnsafeMutableBufferPointer<Int16>) throws(OpusError) -> Int {
        let operation = OpusOperation.decode(packetBytes: packet.count)
        let (data, length) = try OpusDecoder.checked(packet)
        guard let out = pcm.baseAddress, pcm.count > 0, let capacity = Int32(exactly: pcm.count) else {
            throw .bufferTooSmall(operation, needed: frameSize, available: pcm.count)
        }
        // Check the duration first, so a short buffer is reported as such, with the sizes.
        let duration = opus_packet_get_nb_samples(data, length, Int32(sampleRate))
        guard duration >= 0 else { throw .library(operation, code: duration) }
        guard duration <= capacity else { throw .bufferTooSmall(operation, needed: Int(duration), available: pcm.count) }
        let decoded = opus_decode(state, data, length, out, capacity, 0)
        guard decoded >= 0 else { throw .library(operation, code: decoded) }
        return Int(decoded)
    }

    /// Produces the 20 ms frame that was lost, the best way available:
    /// - `next` given (the packet after the lost one is already here, e.g. in the jitter
    ///   buffer): its in-band FEC, a coarse copy of the lost frame, is decoded
    ///   (`decode_fec = 1`). Where it carries none (sender without FEC, CELT mode, frames
    ///   longer than 20 ms), libopus conceals instead. Decode `next` itself afterwards as usual.
    /// - `next` nil: libopus' packet-loss concealment extrapolates from the audio before.
    ///
    /// A corrupt `next` is not this frame's problem: the frame is then concealed, and the
    /// error comes when `next` itself is decoded.
    /// - Parameter pcm: at least `frameSize` samples; exactly `frameSize` are written.
    /// - Returns: `frameSize`.
    /// - Throws: `.bufferTooSmall` for a short `pcm`; `.library` if libopus fails.
    public func decodeLost(next: UnsafeBufferPointer<UInt8>?, into pcm: UnsafeMutableBufferPointer<Int16>) throws(OpusError) -> Int {
        guard let out = pcm.baseAddress, pcm.count >= frameSize else {
            throw .bufferTooSmall(next.map { .decodeFEC(packetBytes: $0.count) } ?? .conceal, needed: frameSize, available: pcm.count)
        }
        if let next, let packet = try? OpusDecoder.checked(next),
           opus_packet_get_nb_samples(packet.data, packet.length, Int32(sampleRate)) > 0 {
            let recovered = opus_decode(state, packet.data, packet.length, out, Int32(frameSize), 1)
            if recovered >= 0 { return Int(recovered) }
            if recovered != OPUS_INVALID_PACKET { throw .library(.decodeFEC(packetBytes: next.count), code: recovered) }
        }
        let concealed = opus_decode(state, nil, 0, out, Int32(frameSize), 0)
        guard concealed >= 0 else { throw .library(.conceal, code: concealed) }
        return Int(concealed)
    }

    /// Forgets all history, e.g. when the sender's SSRC changes.
    public func reset() throws(OpusError) {
        let result = parley_opus_decoder_reset(state)
        guard result == OPUS_OK else { throw .library(.resetDecoder, code: result) }
    }

    /// The packet as libopus takes it, or the error for an empty or oversized one.
    private static func checked(_ packet: UnsafeBufferPointer<UInt8>) throws(OpusError) -> (data: UnsafePointer<UInt8>, length: Int32) {
        guard let data = packet.baseAddress, packet.count > 0 else { throw .emptyPacket }
        guard let length = Int32(exactly: packet.count) else { throw .packetTooLarge(bytes: packet.count) }
        return (data, length)
    }
}
