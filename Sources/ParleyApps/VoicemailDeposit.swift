import Foundation

/// The system prompts the deposit flow may play (the server preloads them for every tenant
/// with mailboxes).
public enum VoicemailDepositPrompts {
    public static let all = ["vm-person-at", "vm-unavailable", "vm-busy", "vm-leave-message", "beep", "vm-mailbox-full",
                             "vm-review", "vm-marked-urgent", "vm-message-sent", "vm-too-short", "vm-record-failed",
                             "invalid-option", "goodbye", "not-available"] + (0...9).map { "digit-\($0)" }
}

/// How a deposit ended, for the event log.
public enum DepositOutcome: Sendable, Equatable {
    case sent(durationMilliseconds: Int, urgent: Bool)
    /// The caller left nothing (hung up early, only silence, or too short every time).
    case nothingRecorded
    case mailboxFull
    /// The mailbox does not exist (any more) or storage could not be used.
    case unavailable(String)
    /// Writing failed (full disk…): the caller was told, nothing was kept.
    case failed(String)
    /// The caller pressed `*` during the greeting and the tenant allows login from there.
    case loginRequested
}

/// The tenant's deposit behaviour (`tenants.<t>.voicemail`).
public struct DepositSettings: Sendable, Equatable {
    public var loginFromGreeting: Bool
    public var minimumMessage: Duration
    public var silenceTimeout: Duration
    /// Recordings offered before giving up when each is too short.
    public var attempts: Int
    /// Wait for a key in the review menu; after `reviewOffers` unanswered offers the message is sent.
    public var reviewTimeout: Duration
    public var reviewOffers: Int

    public init(loginFromGreeting: Bool = false, minimumMessage: Duration = .seconds(1), silenceTimeout: Duration = .seconds(5),
                attempts: Int = 3, reviewTimeout: Duration = .seconds(5), reviewOffers: Int = 3) {
        self.loginFromGreeting = loginFromGreeting; self.minimumMessage = minimumMessage; self.silenceTimeout = silenceTimeout
        self.attempts = attempts; self.reviewTimeout = reviewTimeout; self.reviewOffers = reviewOffers
    }
}

/// Leaving a message in a mailbox.
///
/// Greeting: the temporary greeting if recorded; else the busy or unavailable greeting by
/// the diversion reason (no reason: unavailable); else the recorded name in the sentence
/// "The person at extension ‹name› is not available"; else the same sentence with the
/// mailbox number said digit by digit. Then "leave your message after the tone", the tone,
/// and the recording until `#`, the silence timeout, the mailbox's maximum length or hang-up.
/// During the greeting `#` skips to the tone; `*` leads to login only when the tenant allows
/// it (off by default: toll fraud).
///
/// After `#` (the layout callers know from common PBX voicemail):
/// 1 send · 2 listen · 3 record again · 4 mark urgent (again: not urgent).
/// No key after three offers sends the message; so does hanging up.
/// A recording shorter than the minimum (after silence is trimmed) is discarded and the caller
/// may record again. A full mailbox is said and nothing is recorded.
public struct VoicemailDeposit: Sendable {
    public let mailbox: String
    public let diversion: DiversionReason?
    public let callerNumber: String
    public let callerName: String
    public let settings: DepositSettings
    public let backend: any VoicemailDepositBackend

    public init(mailbox: String, diversion: DiversionReason?, callerNumber: String, callerName: String,
                settings: DepositSettings, backend: any VoicemailDepositBackend) {
        self.mailbox = mailbox; self.diversion = diversion; self.callerNumber = callerNumber; self.callerName = callerName
        self.settings = settings; self.backend = backend
    }

    /// The greeting prompts for this mailbox and call.
    public func greeting(for box: DepositMailbox) -> [String] {
        if let temporary = box.temporaryGreeting { return [CallFlow.audioFile(temporary)] }
        let busy = diversion == .busy
        if busy, let g = box.busyGreeting { return [CallFlow.audioFile(g)] }
        if !busy, let g = box.unavailableGreeting { return [CallFlow.audioFile(g)] }
        let ending = busy ? "vm-busy" : "vm-unavailable"
        if let name = box.nameRecording { return ["vm-person-at", CallFlow.audioFile(name), ending] }
        return ["vm-person-at"] + SayPhrases.digits(box.number) + [ending]
    }

    /// Runs the deposit; ends the call itself (goodbye) unless the caller asked to log in.
    public func run(_ flow: CallFlow) async throws(CallFlowError) -> DepositOutcome {
        let found: Result<DepositMailbox?, DepositError>
        do throws(DepositError) { found = .success(try await backend.mailbox(mailbox)) } catch { found = .failure(error) }
        let box: DepositMailbox
        switch found {
        case let .success(b?): box = b
        case .success(nil): return try await end(flow, ["not-available"], .unavailable("no mailbox \(mailbox)"))
        case let .failure(error): return try await end(flow, ["not-available"], .unavailable(error.description))
        }
        let greeting = greeting(for: box)
        if box.isFull {
            try await flow.play(greeting + ["vm-mailbox-full"])
            return try await end(flow, ["goodbye"], .mailboxFull)
        }
        flow.clearTypeAhead()
        let key = try await flow.play(greeting + ["vm-leave-message"], stoppingOn: settings.loginFromGreeting ? ["#", "*"] : ["#"])
        if key == "*" { return .loginRequested }
        flow.clearTypeAhead()

        var attempt = 0
        while true {
            attempt += 1
            let recording: DepositRecording
            do { recording = try await backend.beginRecording(mailbox) } catch {
                if error == .mailboxFull { return try await end(flow, ["vm-mailbox-full", "goodbye"], .mailboxFull) }
                return await failed(flow, error.description)
            }
            switch try await record(flow, into: recording, attempt: attempt) {
            case let .done(outcome):
                return outcome
            case .again:
                continue
            }
        }
    }

    private enum Step { case done(DepositOutcome), again }

    /// One recording and its review; `.again` to record anew.
    private func record(_ flow: CallFlow, into recording: DepositRecording, attempt: Int) async throws(CallFlowError) -> Step {
        let taken: Recording
        do {
            try await flow.play(["beep"])
            flow.channel.setRecordingPlayout(true)
            taken = try await flow.record(to: recording.path, maxLength: .seconds(recording.maximumSeconds),
                                          silence: settings.silenceTimeout, terminators: ["#"])
            flow.channel.setRecordingPlayout(false)
        } catch {
            flow.channel.setRecordingPlayout(false)
            await backend.discard(recording)
            throw error
        }
        if case let .failed(reason) = taken.endedBy {
            // The file could not be created or written whole (full disk): nothing is kept.
            await backend.discard(recording)
            return .done(await failed(flow, reason))
        }
        let kept: Int
        do { kept = try await backend.finishRecording(recording) } catch {
            await backend.discard(recording)
            return .done(await failed(flow, error.description))
        }
        let minimum = Int(settings.minimumMessage.components.seconds * 1000 + settings.minimumMessage.components.attoseconds / 1_000_000_000_000_000)
        if kept < max(1, minimum) {
            await backend.discard(recording)
            if taken.endedBy == .hangup { return .done(.nothingRecorded) }
            guard attempt < settings.attempts else { return .done(try await end(flow, ["goodbye"], .nothingRecorded)) }
            try await flow.play(["vm-too-short"])
            return .again
        }
        if taken.endedBy == .hangup { return .done(await send(recording, duration: kept, urgent: false, flow: nil)) }

        // Review: 1 send, 2 listen, 3 record again, 4 urgent on/off.
        var urgent = false
        var unanswered = 0
        while true {
            let key: String
            do {
                key = try await flow.playAndCollect(["vm-review"], max: 1, timeout: settings.reviewTimeout,
                                                    interDigitTimeout: settings.reviewTimeout, terminator: nil)
            } catch {
                // Hanging up after recording sends the message, as callers expect.
                return .done(await send(recording, duration: kept, urgent: urgent, flow: nil))
            }
            switch key {
            case "1":
                return .done(await send(recording, duration: kept, urgent: urgent, flow: flow))
            case "2":
                do { try await flow.play([CallFlow.audioFile(recording.path)]) } catch {
                    if error == .hungUp { return .done(await send(recording, duration: kept, urgent: urgent, flow: nil)) }
                    throw error
                }
            case "3":
                await backend.discard(recording)
                return .again
            case "4":
                urgent.toggle()
                do { try await flow.play(urgent ? ["vm-marked-urgent"] : []) } catch {
                    return .done(await send(recording, duration: kept, urgent: urgent, flow: nil))
                }
            case "":
                unanswered += 1
                if unanswered >= settings.reviewOffers { return .done(await send(recording, duration: kept, urgent: urgent, flow: flow)) }
            default:
                do { try await flow.play(["invalid-option"]) } catch {
                    return .done(await send(recording, duration: kept, urgent: urgent, flow: nil))
                }
            }
        }
    }

    /// Commits the message; tells the caller (when still there) and ends the call.
    private func send(_ recording: DepositRecording, duration: Int, urgent: Bool, flow: CallFlow?) async -> DepositOutcome {
        let envelope = DepositEnvelope(callerNumber: callerNumber, callerName: callerName, urgent: urgent)
        let outcome: DepositOutcome
        let prompts: [String]
        do {
            try await backend.send(recording, envelope: envelope)
            outcome = .sent(durationMilliseconds: duration, urgent: urgent)
            prompts = ["vm-message-sent", "goodbye"]
        } catch {
            outcome = error == .mailboxFull ? .mailboxFull : .failed(error.description)
            prompts = [error == .mailboxFull ? "vm-mailbox-full" : "vm-record-failed", "goodbye"]
        }
        if let flow { await say(flow, prompts) }
        return outcome
    }

    /// Storage failed (full disk, I/O error): the caller, when still there, hears the apology
    /// and the call ends; the outcome is reported whatever happens to the call meanwhile.
    private func failed(_ flow: CallFlow, _ reason: String) async -> DepositOutcome {
        await say(flow, ["vm-record-failed", "goodbye"])
        return .failed(reason)
    }

    /// Plays the last prompts and ends the call; a caller who hung up meanwhile ends it too.
    private func say(_ flow: CallFlow, _ prompts: [String]) async {
        if !flow.isHungUp { _ = try? await flow.play(prompts) }
        flow.hangup()
    }

    private func end(_ flow: CallFlow, _ prompts: [String], _ outcome: DepositOutcome) async throws(CallFlowError) -> DepositOutcome {
        try await flow.play(prompts)
        flow.hangup()
        return outcome
    }
}
