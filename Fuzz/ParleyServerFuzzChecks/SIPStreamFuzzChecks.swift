import NIOCore
import ParleySIP
@testable import ParleyServer

/// What the sip fuzz target checks of the TCP framing (`SIPTCPFrameDecoder`) for every
/// input, beside `SIPFuzzChecks`: the bytes arrive in one read, and again cut in two where
/// the first byte says. Either way the decoder never traps, consumes no more than it was
/// given, yields nothing after a `.malformed`, and frames the same messages in the same
/// order (how a stream is cut into reads must not change what it carries).
public enum SIPStreamFuzzChecks {
    public static func check(_ bytes: [UInt8]) {
        let whole = frames(of: [bytes])
        let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
        let pieces = frames(of: [Array(bytes[..<cut]), Array(bytes[cut...])])
        precondition(whole.messages == pieces.messages, "framing depends on how the stream was cut at \(cut)")
        precondition(whole.malformed == pieces.malformed, "a malformed stream depends on how it was cut at \(cut)")
    }

    struct Outcome {
        var messages: [SIPMessage] = []
        var malformed = false
    }

    static func frames(of reads: [[UInt8]]) -> Outcome {
        var decoder = SIPTCPFrameDecoder()
        var buffer = ByteBuffer()
        var outcome = Outcome()
        for read in reads {
            buffer.writeBytes(read)
            while true {
                let before = buffer.readableBytes
                guard let frame = decoder.nextFrame(&buffer) else { break }
                precondition(!outcome.malformed, "a frame after .malformed")
                precondition(buffer.readableBytes <= before, "the decoder gave back bytes")
                switch frame {
                case let .message(m): outcome.messages.append(m)
                case let .keepAlive(n): precondition(n > 0 && n <= before, "a keep-alive of \(n) bytes out of \(before)")
                case .malformed: outcome.malformed = true
                }
            }
        }
        return outcome
    }
}
