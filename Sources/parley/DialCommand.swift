import ArgumentParser
import Foundation
import Logging
import ParleyServer
import ParleySIP

/// `parley dial`: one real SIP call from the command line, to check a menu without a phone.
struct DialCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dial",
        abstract: "Place a SIP call (UDP): play a file, send DTMF, record what is heard, then hang up.",
        discussion: """
            Keys: 0-9 * # A-D; a comma pauses 500 ms. --digits sends RFC 4733 events, --inband-digits \
            sends tones in the audio. Exit status: 0 when the call was answered, 1 otherwise.
            Example: parley dial sip:200@127.0.0.1:5060 --digits ",,,,2" --record heard.wav --duration 8
            """)

    @Argument(help: "Whom to call, e.g. sip:200@127.0.0.1:5060.") var uri: String
    @Option(help: "Play this WAV file (8, 16 or 48 kHz mono) once the call is answered.") var play: String?
    @Option(help: "Send these keys as RFC 4733 events once answered (',' = 500 ms pause).") var digits: String?
    @Option(help: "Send these keys as in-band tones once answered (',' = 500 ms pause).") var inbandDigits: String?
    @Option(help: "Record what is heard to this WAV file (8 kHz, 16-bit).") var record: String?
    @Option(help: "Hang up after this many seconds unless the far end hangs up first.") var duration: Double = 10
    @Option(help: "Codec to offer: pcmu, pcma or opus.") var codec: String = "pcmu"
    @Option(help: "User name for digest authentication (when challenged).") var user: String?
    @Option(help: "Password for digest authentication.") var password: String?
    @Option(help: "Local address for Via, Contact and SDP (default: the one routed toward the target).") var localHost: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String = "warning"

    func validate() throws {
        guard duration > 0, duration <= 86_400 else { throw ValidationError("--duration must be between 0 and 86400 seconds") }
        guard ["pcmu", "pcma", "opus"].contains(codec.lowercased()) else { throw ValidationError("--codec must be pcmu, pcma or opus") }
        for (name, keys) in [("--digits", digits), ("--inband-digits", inbandDigits)] {
            if let keys, let bad = keys.first(where: { !"0123456789*#ABCDabcd,".contains($0) }) {
                throw ValidationError("\(name): '\(bad)' is not a key (0-9 * # A-D, ',' for a pause)")
            }
        }
        if (user == nil) != (password == nil) { throw ValidationError("--user and --password go together") }
    }

    func run() async throws {
        var logger = Logger(label: "parley.dial")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .warning
        var options = TestCaller.Options(target: uri)
        options.play = play
        options.digits = digits?.uppercased()
        options.inbandDigits = inbandDigits?.uppercased()
        options.record = record
        options.durationMilliseconds = Int64(duration * 1000)
        options.codec = AudioCodec.named(codec) ?? .pcmu
        options.user = user
        options.password = password
        options.localHost = localHost
        let summary: TestCaller.Summary
        do {
            summary = try await TestCaller(options: options, logger: logger).run()
        } catch {
            FileHandle.standardError.write(Data("parley dial: \(error)\n".utf8))
            throw ExitCode(2)
        }
        print(summary)
        if !summary.answered { throw ExitCode(1) }
    }
}
