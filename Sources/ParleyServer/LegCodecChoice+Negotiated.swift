import ParleyMedia
import ParleySIP

extension LegCodecChoice {
    /// How a leg runs a codec settled by offer/answer; Opus settings follow both sides'
    /// RFC 7587 parameters. Used by the server's answers and by the test caller.
    init(negotiated: NegotiatedAudio, localOpus: OpusParameters) throws {
        switch negotiated.codec {
        case .pcma: self = .g711(.alaw)
        case .opus:
            let peer = OpusParameters.parseIgnoringInvalid(negotiated.formatParameters ?? "").parameters
            let settings = try OpusFormat.settings(peer: peer, local: localOpus)
            self = .opus(encodeRate: settings.encodeSampleRate, decodeRate: settings.decodeSampleRate, bitrate: settings.bitrate,
                         inbandFEC: settings.inbandFEC, expectedLossPercent: settings.expectedPacketLossPercent, dtx: settings.dtx)
        default: self = .g711(.ulaw)
        }
    }
}
