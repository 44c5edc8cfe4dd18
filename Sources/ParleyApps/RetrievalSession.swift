import Foundation
import ParleyStore

/// One logged-in retrieval call: the main menu, the message walk
/// (`RetrievalSession+Messages.swift`), forwarding (`+Forward`) and mailbox options
/// (`+Options`). Used by the call's one task only.
///
/// Main menu: 1 listen · 0 mailbox options · * repeat the menu · # goodbye.
final class RetrievalSession {
    let app: VoicemailRetrieval
    let flow: CallFlow
    let mailbox: Mailbox
    var key: MailboxKey { mailbox.key }
    var settings: VoicemailRetrieval.Settings { app.settings }

    /// How a sub-menu handed control back.
    enum Exit { case mainMenu([String]), hangup }

    init(app: VoicemailRetrieval, flow: CallFlow, mailbox: Mailbox) {
        self.app = app; self.flow = flow; self.mailbox = mailbox
    }

    func run() async throws(CallFlowError) {
        var prefix = await welcome()
        var noInput = 0
        while true {
            let choice = try await flow.playAndCollect(prefix + ["vm-main-menu"], max: 1, timeout: settings.menuTimeout,
                                                       interDigitTimeout: settings.interDigitTimeout, terminator: nil)
            prefix = []
            if choice.isEmpty {
                noInput += 1
                if noInput > settings.menuRetries { return try await goodbye() }
                continue
            }
            noInput = 0
            switch choice {
            case "1":
                switch try await listen() {
                case let .mainMenu(p): prefix = p
                case .hangup: return
                }
            case "0":
                switch try await options() {
                case let .mainMenu(p): prefix = p
                case .hangup: return
                }
            case "*": continue
            case "#": return try await goodbye()
            default: prefix = ["invalid-option"]
            }
        }
    }

    /// "Your temporary greeting is on" when it is, then the message counts.
    func welcome() async -> [String] {
        var out: [String] = []
        if case .success(.some) = await app.attempt("greeting lookup", { () async throws(StoreError) in
            try await app.store.greeting(.temporary, for: key)
        }) {
            out.append("vm-temp-greeting-active")
        }
        switch await app.attempt("counts", { () async throws(StoreError) in try await app.store.counts(key) }) {
        case let .success(counts): out += VoicemailEnvelope.summary(counts)
        case .failure: out.append("vm-error")
        }
        return out
    }

    func goodbye(_ prefix: [String] = []) async throws(CallFlowError) {
        try await flow.play(prefix + ["goodbye"])
        flow.hangup()
    }

    /// Moves a message and tells message waiting (RFC 3842 summaries count new and old messages,
    /// so every move between folders may change them; the server publishes only real changes).
    func move(_ message: VoicemailMessage, to folder: Folder) async -> Bool {
        let id = message.id
        let moved = await app.attempt("move") { () async throws(StoreError) in try await app.store.move(id, of: key, to: folder) }
        guard case .success = moved else { return false }
        app.observe(.moved(messageID: id, to: folder))
        await app.mailboxChanged(key)
        return true
    }

    /// A fresh path for a recording that is not a message yet (greeting, introduction).
    func scratchPath() -> String {
        let dir = settings.scratchDirectory.hasSuffix("/") ? String(settings.scratchDirectory.dropLast()) : settings.scratchDirectory
        return "\(dir)/parley-vm-\(UUID().uuidString.lowercased()).wav"
    }

    /// Records after a prompt and a beep until `#`, silence or the limit. `ok` false when the
    /// take is too short or failed (`problem` is what to say); throws on hang-up.
    func recordTake(_ prompt: String, to path: String) async throws(CallFlowError) -> (ok: Bool, problem: [String]) {
        try await flow.play([prompt, "beep"])
        // Under the mailbox's maximum with a margin: the recorder may run a frame or two past the timer.
        let limitMs = max(1000, min(VoicemailRetrieval.Settings.milliseconds(settings.greetingMaxLength),
                                    mailbox.options.maxMessageSeconds * 1000 - 500))
        let take = try await flow.record(to: path, maxLength: .milliseconds(limitMs), silence: settings.recordingSilence)
        switch take.endedBy {
        case .hangup: throw .hungUp
        case let .failed(reason):
            app.observe(.storeFailed("recording: \(reason)"))
            return (false, ["vm-error"])
        default:
            guard take.durationMilliseconds >= settings.minimumRecordingMilliseconds else { return (false, ["vm-recording-too-short"]) }
            return (true, [])
        }
    }
}

extension VoicemailRetrieval.Settings {
    static func milliseconds(_ d: Duration) -> Int { CallFlow.milliseconds(d) }
}
