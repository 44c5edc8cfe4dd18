import Foundation
import ParleyStore

/// The message walk. Order: new, then old, then saved; urgent first within each folder, then
/// oldest first (the store's order). Each message: envelope, then its audio.
///
/// Keys while the envelope or the audio plays (they stop it):
///   `*` back 5 s (during the envelope: envelope again) · `#` ahead 5 s (during the envelope:
///   straight to the audio; past the end: the message menu) · `0` pause / resume
///   (pause ends by itself after `pauseLimit`) · and every message-menu key below.
/// Message menu (after the audio, or any time):
///   `5` replay (envelope and audio) · `4` previous · `6` next · `7` delete / undelete ·
///   `9` save (to saved) · `8` forward · `*` replay the last 5 s · `#` back to the main menu.
/// `7` and `9` move on to the next message, like most PBXs. A message that reaches the audio
/// leaves `new` (it is heard). Deleted messages stay in the list until hang-up (undelete with
/// `7`), then they are purged.
extension RetrievalSession {
    /// Where the walk is on the current message.
    enum Cursor: Equatable {
        /// The envelope, then the audio from the start; `lead` is said first ("Message deleted.").
        case start(lead: [String])
        /// The audio from this offset.
        case audio(Duration)
        /// The message menu; `lead` is said first.
        case menu(lead: [String])
    }

    /// How presenting a message ended.
    enum Heard {
        case finished
        /// A key stopped the envelope (`at` nil) or the audio at `at`.
        case key(Character, at: Duration?)
        /// The audio cannot be played: announced; the key that stopped the announcement, if any.
        case unplayable(Character?)
    }

    func loadMessages() async -> [VoicemailMessage]? {
        var all: [VoicemailMessage] = []
        for folder in [Folder.new, .old, .saved] {
            guard case let .success(list) = await app.attempt("listing", { () async throws(StoreError) in
                try await app.store.messages(in: folder, of: key)
            }) else { return nil }
            all += list
        }
        return all
    }

    func listen() async throws(CallFlowError) -> Exit {
        guard var messages = await loadMessages() else { return .mainMenu(["vm-error"]) }
        guard !messages.isEmpty else { return .mainMenu(["vm-no-messages"]) }
        var index = 0
        var cursor = Cursor.start(lead: [])
        var forwards = true
        var noInput = 0
        while true {
            let heard: Heard
            var pending: (key: Character, at: Duration?)?
            // Keys from the message menu (or after an unplayable message) act "after the audio".
            var afterAudio = false
            switch cursor {
            case let .start(lead):
                heard = try await present(&messages[index], number: index + 1, lead: lead, from: nil)
            case let .audio(offset):
                heard = try await present(&messages[index], number: index + 1, lead: [], from: offset)
            case let .menu(lead):
                let choice = try await flow.playAndCollect(lead + ["vm-message-menu"], max: 1, timeout: settings.menuTimeout,
                                                           interDigitTimeout: settings.interDigitTimeout, terminator: nil)
                if let k = choice.first {
                    noInput = 0
                    afterAudio = true
                    heard = .key(k, at: .milliseconds(messages[index].durationMilliseconds))
                } else {
                    noInput += 1
                    if noInput > settings.menuRetries {
                        try await goodbye()
                        return .hangup
                    }
                    cursor = .menu(lead: [])
                    continue
                }
            }
            switch heard {
            case .finished:
                cursor = .menu(lead: [])
                continue
            case let .unplayable(k):
                guard let k else {
                    // Skipped: on in the direction the caller was going (back at the first: forwards).
                    if !forwards, index > 0 { index -= 1 } else if index + 1 < messages.count { index += 1; forwards = true } else {
                        return .mainMenu(["vm-end-of-messages"])
                    }
                    cursor = .start(lead: [])
                    continue
                }
                pending = (k, .zero)
                afterAudio = true
            case let .key(k, at):
                pending = (k, at)
            }
            // Keys, possibly one more after a pause.
            while let (k, at) = pending {
                pending = nil
                let length = Duration.milliseconds(messages[index].durationMilliseconds)
                switch k {
                case "*":
                    guard let at else { cursor = .start(lead: []); break }
                    cursor = .audio(max(.zero, at - settings.skip))
                case "#":
                    if afterAudio { return .mainMenu([]) }
                    guard let at else { cursor = .audio(.zero); break }
                    let ahead = at + settings.skip
                    cursor = ahead >= length ? .menu(lead: []) : .audio(ahead)
                case "0" where !afterAudio:
                    let at = at ?? .zero
                    let resume = try await flow.playAndCollect(["vm-paused"], max: 1, timeout: settings.pauseLimit,
                                                               interDigitTimeout: settings.interDigitTimeout, terminator: nil)
                    if let k2 = resume.first, k2 != "0" { pending = (k2, at) } else { cursor = .audio(at) }
                case "5":
                    cursor = .start(lead: [])
                case "4":
                    if index > 0 {
                        index -= 1
                        forwards = false
                        cursor = .start(lead: [])
                    } else {
                        cursor = .menu(lead: ["vm-no-previous-message"])
                    }
                case "6":
                    forwards = true
                    guard index + 1 < messages.count else { return .mainMenu(["vm-end-of-messages"]) }
                    index += 1
                    cursor = .start(lead: [])
                case "7" where messages[index].folder == .deleted:
                    let id = messages[index].id
                    switch await app.attempt("undelete", { () async throws(StoreError) in try await app.store.undelete(id, of: key) }) {
                    case let .success(folder):
                        messages[index].folder = folder
                        app.observe(.undeleted(messageID: id, to: folder))
                        await app.mailboxChanged(key)
                        cursor = .menu(lead: ["vm-message-undeleted"])
                    case .failure:
                        cursor = .menu(lead: ["vm-error"])
                    }
                case "7", "9":
                    let folder: Folder = k == "7" ? .deleted : .saved
                    guard await move(messages[index], to: folder) else {
                        cursor = .menu(lead: ["vm-error"])
                        break
                    }
                    messages[index].folder = folder
                    let said = k == "7" ? "vm-message-deleted" : "vm-message-saved"
                    forwards = true
                    guard index + 1 < messages.count else { return .mainMenu([said, "vm-end-of-messages"]) }
                    index += 1
                    cursor = .start(lead: [said])
                case "8":
                    cursor = .menu(lead: try await forward(messages[index]))
                default:
                    cursor = .menu(lead: ["invalid-option"])
                }
            }
        }
    }

    /// Says the envelope (when `offset` is nil) and plays the audio from `offset` (or the
    /// start). A message reaching its audio leaves `new`. Unplayable audio (flagged damaged
    /// at start-up, or failing now) is announced instead.
    func present(_ message: inout VoicemailMessage, number: Int, lead: [String], from offset: Duration?) async throws(CallFlowError) -> Heard {
        if offset == nil {
            if message.damaged {
                app.observe(.skipped(messageID: message.id, reason: "damaged"))
                return .unplayable(try await flow.playInterruptible(lead + ["vm-message"] + SayPhrases.number(number) + ["vm-message-damaged"]))
            }
            let envelope = VoicemailEnvelope.phrases(for: message, position: number, now: app.now(), timeZone: settings.timeZone)
            if let k = try await flow.playInterruptible(lead + envelope) { return .key(k, at: nil) }
        }
        guard let path = app.store.audioFile(message.audioPath) else {
            app.observe(.skipped(messageID: message.id, reason: "bad audio path"))
            return .unplayable(try await flow.playInterruptible(["vm-message-damaged"]))
        }
        if message.folder == .new, await move(message, to: .old) { message.folder = .old }
        if offset == nil { app.observe(.played(messageID: message.id)) }
        do throws(CallFlowError) {
            switch try await flow.playFile(path, from: offset ?? .zero) {
            case .finished: return .finished
            case let .interrupted(k, at): return .key(k, at: at)
            }
        } catch {
            guard case let .channel(problem) = error else { throw error }
            app.observe(.skipped(messageID: message.id, reason: problem.description))
            return .unplayable(try await flow.playInterruptible(["vm-message-damaged"]))
        }
    }
}
