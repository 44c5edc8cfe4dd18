import COpus

/// An Opus encoder (libopus, `OPUS_APPLICATION_VOIP`, signal type voice): one 20 ms frame
/// of mono 16-bit PCM in, one packet out.
///
/// One encoder per outgoing stream; not thread-safe (confine it to the stream's event loop).
/// The libopus state is allocated once, in `init`; `encode` allocates nothing.
///
/// Settings can change between frames (e.g. when RTCP reports more loss). Ranges:
/// bitrate 6000...510000 b/s (RFC 7587 §6.1), complexity 0...10, expected loss 0...100 %.
public final class OpusEncoder {
    /// Sample rate of the PCM passed to `encode`, in Hz (8000, 16000 or 48000).
    public let sampleRate: Int
    /// Samples in one 20 ms frame: what `encode` takes.
    public let frameSize: Int
    /// Target bitrate in bits per second.
    public private(set) var bitrate: Int
    /// Encoder effort, 0 (cheapest) ... 10 (best).
    public private(set) var complexity: Int
    /// Discontinuous transmission: in silence, most packets shrink to 1–2 bytes that need
    /// not be sent (see `isDiscontinuous`), with a comfort-noise update every 400 ms.
    public private(set) var dtx: Bool
    /// In-band forward error correction: each packet also carries a coarse copy of the
    /// previous frame, which a receiver that lost that frame can decode (SILK modes only).
    public private(set) var inbandFEC: Bool
    /// Expected packet loss in percent; libopus spends more on FEC the higher this is, and
    /// sends no FEC at all at 0.
    public private(set) var expectedPacketLossPercent: Int
    /// Constant bitrate (RFC 7587 `cbr=1`) instead of the default VBR.
    public private(set) var constantBitrate: Bool

    public static let bitrateRange: ClosedRange<Int> = 6000...510_000
    public static let complexityRange: ClosedRange<Int> = 0...10
    public static let packetLossRange: ClosedRange<Int> = 0...100

    private let state: OpaquePointer

    /// Creates an encoder and applies every setting.
    /// - Throws: `.unsupportedSampleRate` for rates other than 8000, 16000 and 48000 Hz,
    ///   `.invalidSetting` for values out of range, `.library` if libopus refuses.
    public init(sampleRate: Int, bitrate: Int = 24_000, complexity: Int = 5, dtx: Bool = false,
                inbandFEC: Bool = false, expectedPacketLossPercent: Int = 0, constantBitrate: Bool = false) throws(OpusError) {
        let rate = try Opus.validated(sampleRate: sampleRate)
        try OpusEncoder.validate(.bitrate, bitrate, OpusEncoder.bitrateRange)
        try OpusEncoder.validate(.complexity, complexity, OpusEncoder.complexityRange)
        try OpusEncoder.validate(.expectedPacketLoss, expectedPacketLossPercent, OpusEncoder.packetLossRange)
        var error: Int32 = OPUS_OK
        guard let state = opus_encoder_create(rate, 1, OPUS_APPLICATION_VOIP, &error), error == OPUS_OK else {
            throw .library(.createEncoder(sampleRate: sampleRate), code: error == OPUS_OK ? OPUS_ALLOC_FAIL : error)
        }
        // Apply everything before the stored properties exist, so a failure frees the state here.
        let applied: [(OpusSetting, Int, Int32)] = [
            (.signal, Int(OPUS_SIGNAL_VOICE), parley_opus_set_signal_voice(state)),
            (.bitrate, bitrate, parley_opus_set_bitrate(state, Int32(bitrate))),
            (.complexity, complexity, parley_opus_set_complexity(state, Int32(complexity))),
            (.dtx, dtx ? 1 : 0, parley_opus_set_dtx(state, dtx ? 1 : 0)),
            (.inbandFEC, inbandFEC ? 1 : 0, parley_opus_set_inband_fec(state, inbandFEC ? 1 : 0)),
            (.expectedPacketLoss, expectedPacketLossPercent, parley_opus_set_packet_loss_perc(state, Int32(expectedPacketLossPercent))),
            (.constantBitrate, constantBitrate ? 1 : 0, parley_opus_set_vbr(state, constantBitrate ? 0 : 1)),
        ]
        if let failed = applied.first(where: { $0.2 != OPUS_OK }) {
            opus_encoder_destroy(state)
            throw .library(.configure(failed.0, value: failed.1), code: failed.2)
        }
        self.state = state
        self.sampleRate = sampleRate
        self.frameSize = Opus.frameSamples(sampleRate: sampleRate)
        self.bitrate = bitrate
        self.complexity = complexity
        self.dtx = dtx
        self.inbandFEC = inbandFEC
        self.expectedPacketLossPercent = expectedPacketLossPercent
        self.constantBitrate = constantBitrate
    }

    deinit { opus_encoder_destroy(state) }

    /// Sets the target bitrate in bits per second (6000...510000).
    public func setBitrate(_ bitsPerSecond: Int) throws(OpusError) {
        try OpusEncoder.validate(.bitrate, bitsPerSecond, OpusEncoder.bitrateRange)
        try apply(.bitrate, bitsPerSecond, parley_opus_set_bitrate(state, Int32(bitsPerSecond)))
        bitrate = bitsPerSecond
    }

    /// Sets the complexity (0...10); 5 costs about half of 10 with little audible loss on speech.
    public func setComplexity(_ value: Int) throws(OpusError) {
        try OpusEncoder.validate(.complexity, value, OpusEncoder.complexityRange)
        try apply(.complexity, value, parley_opus_set_complexity(state, Int32(value)))
        complexity = value
    }

    /// Turns discontinuous transmission on or off.
    public func setDTX(_ on: Bool) throws(OpusError) {
        try apply(.dtx, on ? 1 : 0, parley_opus_set_dtx(state, on ? 1 : 0))
        dtx = on
    }

    /// Turns in-band FEC on or off and sets the loss it should protect against (0...100 %).
    /// The two go together: libopus adds FEC only when the expected loss is above 0.
    public func setInbandFEC(_ on: Bool, expectedPacketLossPercent: Int) throws(OpusError) {
        try OpusEncoder.validate(.expectedPacketLoss, expectedPacketLossPercent, OpusEncoder.packetLossRange)
        try apply(.inbandFEC, on ? 1 : 0, parley_opus_set_inband_fec(state, on ? 1 : 0))
        inbandFEC = on
        try apply(.expectedPacketLoss, expectedPacketLossPercent, parley_opus_set_packet_loss_perc(state, Int32(expectedPacketLossPercent)))
        self.expectedPacketLossPercent = expectedPacketLossPercent
    }

    /// Sets the expected packet loss alone (0...100 %), e.g. from RTCP receiver reports.
    public func setExpectedPacketLoss(percent: Int) throws(OpusError) {
        try OpusEncoder.validate(.expectedPacketLoss, percent, OpusEncoder.packetLossRange)
        try apply(.expectedPacketLoss, percent, parley_opus_set_packet_loss_perc(state, Int32(percent)))
        expectedPacketLossPercent = percent
    }

    /// Switches between constant bitrate (`true`, RFC 7587 `cbr=1`) and VBR.
    public func setConstantBitrate(_ on: Bool) throws(OpusError) {
        try apply(.constantBitrate, on ? 1 : 0, parley_opus_set_vbr(state, on ? 0 : 1))
        constantBitrate = on
    }

    /// The encoder's algorithmic delay in samples at `sampleRate`: decoded audio lags the
    /// input by this much (2.5 ms look-ahead plus 4 ms of delay compensation in VoIP mode).
    public var lookahead: Int {
        var value: Int32 = 0
        guard parley_opus_get_lookahead(state, &value) == OPUS_OK else { return 0 }
        return Int(value)
    }

    /// Encodes one 20 ms frame.
    /// - Parameters:
    ///   - pcm: exactly `frameSize` samples.
    ///   - packet: where the packet goes; `Opus.maxPacketBytes` (1276) always suffices,
    ///     a shorter buffer caps the packet size (libopus lowers the quality to fit).
    /// - Returns: the packet length in bytes. With DTX on, 1 or 2 bytes mean "silence,
    ///   nothing to send" (`isDiscontinuous`).
    /// - Throws: `.wrongFrameLength`, `.bufferTooSmall` for an empty `packet`, `.library`.
    public func encode(_ pcm: UnsafeBufferPointer<Int16>, into packet: UnsafeMutableBufferPointer<UInt8>) throws(OpusError) -> Int {
        guard pcm.count == frameSize, let src = pcm.baseAddress else {
            throw .wrongFrameLength(expected: frameSize, got: pcm.count)
        }
        guard let dst = packet.baseAddress, packet.count > 0 else {
            throw .bufferTooSmall(.encode(samples: pcm.count), needed: 1, available: packet.count)
        }
        let capacity = Int32(min(packet.count, Opus.maxPacketBytes))
        let written = opus_encode(state, src, Int32(frameSize), dst, capacity)
        guard written >= 0 else { throw .library(.encode(samples: pcm.count), code: written) }
        return Int(written)
    }

    /// Whether a packet of `bytes` bytes from a DTX encoder is a discontinuity marker that
    /// need not be sent (libopus: "2 bytes or less").
    @inlinable
    public static func isDiscontinuous(packetBytes bytes: Int) -> Bool { bytes <= 2 }

    // MARK: Helpers

    private static func validate(_ setting: OpusSetting, _ value: Int, _ range: ClosedRange<Int>) throws(OpusError) {
        guard range.contains(value) else { throw .invalidSetting(setting, value: value, allowed: range) }
    }

    private func apply(_ setting: OpusSetting, _ value: Int, _ result: Int32) throws(OpusError) {
        guard result == OPUS_OK else { throw .library(.configure(setting, value: value), code: result) }
    }
}
