import Foundation
import ParleyDSP
import ParleyStore

/// Mailbox options (`0` at the main menu), as in Asterisk's VoiceMailMain:
///   `1` unavailable greeting · `2` busy greeting · `3` your name · `4` temporary greeting
///   (when one is set: `1` record a new one, `2` remove it) · `5` change PIN · `*` or `#` back.
/// A greeting is recorded after the tone until `#` or silence, then: `1` accept · `2` listen ·
/// `3` record again (`*` or no answer: nothing changes). A new PIN is entered twice and must
/// pass `PINPolicy` (4–10 digits, not one repeated digit, not a run, not the mailbox number).
extension RetrievalSession {
    func options() async throws(CallFlowError) -> Exit {
        var prefix: [String] = []
        var noInput = 0
        while true {
            let choice = try await flow.playAndCollect(prefix + ["vm-options-menu"], max: 1, timeout: settings.menuTimeout,
                                                       interDigitTimeout: settings.interDigitTimeout, terminator: nil)
            prefix = []
            switch choice {
            case "":
                noInput += 1
                if noInput > settings.menuRetries { return .mainMenu([]) }
            case "1": prefix = try await recordGreeting(.unavailable)
            case "2": prefix = try await recordGreeting(.busy)
            case "3": prefix = try await recordGreeting(.name)
            case "4": prefix = try await temporaryGreeting()
            case "5": prefix = try await changePIN()
            case "*", "#": return .mainMenu([])
            default: prefix = ["invalid-option"]
            }
            if !choice.isEmpty { noInput = 0 }
        }
    }

    func temporaryGreeting() async throws(CallFlowError) -> [String] {
        guard case .success(.some) = await app.attempt("greeting lookup", { () async throws(StoreError) in
            try await app.store.greeting(.temporary, for: key)
        }) else { return try await recordGreeting(.temporary) }
        let choice = try await flow.playAndCollect(["vm-temp-greeting-active", "vm-temp-greeting-options"], max: 1,
                                                   timeout: settings.menuTimeout, interDigitTimeout: settings.interDigitTimeout, terminator: nil)
        switch choice {
        case "1": return try await recordGreeting(.temporary)
        case "2":
            guard case .success = await app.attempt("greeting removal", { () async throws(StoreError) in
                try await app.store.clearGreeting(.temporary, for: key)
            }) else { return ["vm-error"] }
            app.observe(.greetingRemoved(.temporary))
            return ["vm-temp-greeting-removed"]
        default: return []
        }
    }

    /// Record, review, accept: nothing reaches the store before `1`.
    func recordGreeting(_ kind: GreetingKind) async throws(CallFlowError) -> [String] {
        let path = scratchPath()
        defer { unlink(path) }
        var needTake = true
        var prefix: [String] = []
        var noInput = 0
        while true {
            if needTake {
                let take = try await recordTake(kind == .name ? "vm-record-name" : "vm-record-greeting", to: path)
                guard take.ok else {
                    if take.problem == ["vm-recording-too-short"], noInput == 0 { noInput += 1; prefix = take.problem; continue }
                    return take.problem
                }
                needTake = false
            }
            var choice = try await flow.playAndCollect(prefix + ["vm-greeting-review"], max: 1, timeout: settings.menuTimeout,
                                                       interDigitTimeout: settings.interDigitTimeout, terminator: nil)
            prefix = []
            if choice == "2" {
                // Listen; a key pressed while it plays is the answer.
                do throws(CallFlowError) {
                    if case let .interrupted(k, _) = try await flow.playFile(path) { choice = String(k) } else { continue }
                } catch {
                    guard case .channel = error else { throw error }
                    return ["vm-error"]
                }
            }
            switch choice {
            case "1":
                guard let audio = try? PCMAudio.read(path: path) else { return ["vm-recording-too-short"] }
                let k = key
                guard case .success = await app.attempt("greeting", { () async throws(StoreError) in
                    _ = try await app.store.setGreeting(kind, audio: audio, for: k, now: app.now())
                }) else { return ["vm-error"] }
                app.observe(.greetingRecorded(kind))
                return ["vm-greeting-recorded"]
            case "2": continue
            case "3": needTake = true
            case "":
                noInput += 1
                if noInput > settings.menuRetries { return [] }
            case "*", "#": return []
            default: prefix = ["invalid-option"]
            }
        }
    }

    /// New PIN twice; refused ones are said so and asked again (up to `loginAttempts` times).
    func changePIN() async throws(CallFlowError) -> [String] {
        var prefix: [String] = []
        for _ in 0..<max(1, settings.loginAttempts) {
            let first = try await flow.playAndCollect(prefix + ["vm-enter-new-pin"], max: PINPolicy.lengthRange.upperBound + 1,
                                                      timeout: settings.menuTimeout, interDigitTimeout: settings.interDigitTimeout)
            guard !first.isEmpty else { return [] }
            do throws(StoreError) {
                try PINPolicy.check(first, mailboxNumber: key.number)
            } catch {
                app.observe(.pinRefused(reason: error.description))
                prefix = ["vm-pin-refused"]
                continue
            }
            let second = try await flow.playAndCollect(["vm-reenter-pin"], max: PINPolicy.lengthRange.upperBound + 1,
                                                       timeout: settings.menuTimeout, interDigitTimeout: settings.interDigitTimeout)
            guard second == first else {
                app.observe(.pinRefused(reason: "the two entries differ"))
                prefix = ["vm-pins-differ"]
                continue
            }
            let k = key
            switch await app.attempt("PIN change", { () async throws(StoreError) in try await app.store.changePIN(first, for: k) }) {
            case .success:
                app.observe(.pinChanged)
                return ["vm-pin-changed"]
            case .failure(.pinPolicy): prefix = ["vm-pin-refused"]
            case .failure: return ["vm-error"]
            }
        }
        return prefix
    }
}
