import Foundation
import ParleyStore

/// What the retrieval flow did, for the call's event log. Never carries a PIN.
public enum RetrievalEvent: Sendable, Equatable {
    case loggedIn(mailbox: String)
    /// `reason`: "wrong PIN", "no such mailbox", "no PIN entered", "no mailbox entered".
    case loginFailed(mailbox: String, reason: String)
    case locked(mailbox: String, until: Date)
    case played(messageID: String)
    /// A message whose audio is missing, empty or unreadable was announced and skipped.
    case skipped(messageID: String, reason: String)
    case moved(messageID: String, to: Folder)
    case undeleted(messageID: String, to: Folder)
    case forwarded(messageID: String, to: String, introduction: Bool)
    case greetingRecorded(GreetingKind)
    case greetingRemoved(GreetingKind)
    case pinChanged
    case pinRefused(reason: String)
    case purged(count: Int)
    /// The store failed (locked database, full disk…); the caller heard `vm-error`.
    case storeFailed(String)
}

/// Voicemail retrieval by phone (the VoiceMailMain of common PBXs): login with mailbox
/// number and PIN (lockout in the store), "you have N new and M saved messages", the
/// messages with their envelope and playback keys, and mailbox options (greetings, PIN).
/// The key map is documented in the README and in `VoicemailRetrieval+Messages.swift`.
///
/// Pure app logic over `CallFlow` and `VoicemailStore`: no SIP, no media, no SQL. One value
/// per call; `now` gives the wall clock (injected for tests), `timeZone` the tenant's zone
/// for the envelope.
public struct VoicemailRetrieval: Sendable {
    public struct Settings: Sendable, Equatable {
        /// The tenant's time zone: envelopes say the date and time there.
        public var timeZone: TimeZone
        /// Wait for a menu key after the menu prompt, and between the keys of a number or PIN.
        public var menuTimeout: Duration = .seconds(6)
        public var interDigitTimeout: Duration = .seconds(4)
        /// How far `*` and `#` move within a message.
        public var skip: Duration = .seconds(5)
        /// Mailbox/PIN pairs a caller may try in one call (the store's lockout spans calls).
        public var loginAttempts = 3
        /// A menu is offered again this many times without a key, then the call ends.
        public var menuRetries = 2
        /// A paused message resumes by itself after this long.
        public var pauseLimit: Duration = .seconds(60)
        /// Longest greeting or forwarding introduction (also capped by the mailbox's maximum).
        public var greetingMaxLength: Duration = .seconds(60)
        /// Silence that ends a greeting or introduction.
        public var recordingSilence: Duration = .seconds(5)
        /// Shorter recordings are refused ("too short").
        public var minimumRecordingMilliseconds = 500
        /// Where greetings and introductions are recorded before they are accepted.
        public var scratchDirectory: String

        public init(timeZone: TimeZone, scratchDirectory: String = NSTemporaryDirectory()) {
            self.timeZone = timeZone
            self.scratchDirectory = scratchDirectory
        }
    }

    public let store: any VoicemailStore
    public let tenant: String
    /// The mailbox the caller presumably owns — their own number (the From user part), or the
    /// mailbox whose greeting they left with `*`: when it is a mailbox of this tenant its number
    /// is not asked (the PIN always is).
    public let mailboxNumber: String?
    public let settings: Settings
    public let now: @Sendable () -> Date
    public let observe: @Sendable (RetrievalEvent) -> Void
    /// Awaited after every change to a mailbox's folders (message waiting re-reads its counts).
    public let mailboxChanged: @Sendable (MailboxKey) async -> Void

    public init(store: any VoicemailStore, tenant: String, mailboxNumber: String?, settings: Settings,
                now: @escaping @Sendable () -> Date = { Date() }, observe: @escaping @Sendable (RetrievalEvent) -> Void = { _ in },
                mailboxChanged: @escaping @Sendable (MailboxKey) async -> Void = { _ in }) {
        self.store = store; self.tenant = tenant; self.mailboxNumber = mailboxNumber; self.settings = settings
        self.now = now; self.observe = observe; self.mailboxChanged = mailboxChanged
    }

    /// The same app for a caller presumed to own `mailboxNumber` (e.g. who pressed `*` during
    /// that mailbox's greeting): the mailbox number is not asked, the PIN is.
    public func loggingInto(_ mailboxNumber: String) -> VoicemailRetrieval {
        VoicemailRetrieval(store: store, tenant: tenant, mailboxNumber: mailboxNumber, settings: settings, now: now,
                           observe: observe, mailboxChanged: mailboxChanged)
    }

    /// Runs until the caller leaves (`#` at the main menu), hangs up, fails to log in or is
    /// locked out. Messages deleted during the call are purged at the end, hang-up included.
    public func run(_ flow: CallFlow) async throws(CallFlowError) {
        guard let mailbox = try await login(flow) else { return }
        let session = RetrievalSession(app: self, flow: flow, mailbox: mailbox)
        var failure: CallFlowError?
        do { try await session.run() } catch { failure = error }
        await purge(mailbox.key)
        if let failure { throw failure }
    }

    /// Removes the deleted-pending messages. Detached: a hang-up cancels the flow's task, and
    /// the purge must still happen.
    func purge(_ key: MailboxKey) async {
        let store = self.store, observe = self.observe
        await Task.detached {
            do throws(StoreError) {
                let n = try await store.purgeDeleted(of: key)
                if n > 0 { observe(.purged(count: n)) }
            } catch {
                observe(.storeFailed("purge: \(error)"))
            }
        }.value
    }

    /// Every system prompt this flow may play (besides the `say` fragments), so the server
    /// can load them at start and refuse a configuration that lacks one.
    public static let prompts = [
        "enter-pin", "goodbye", "invalid-option", "beep",
        "vm-enter-mailbox", "vm-invalid-pin", "vm-locked", "vm-error",
        "vm-you-have", "vm-new", "vm-saved", "vm-message", "vm-messages", "vm-no-messages", "say-and",
        "vm-main-menu", "vm-message-menu", "vm-end-of-messages", "vm-no-previous-message",
        "vm-urgent", "say-received", "say-today", "say-yesterday", "say-at", "say-from", "vm-unknown-caller",
        "vm-message-damaged", "vm-paused", "vm-message-deleted", "vm-message-undeleted", "vm-message-saved",
        "vm-forward-enter-mailbox", "vm-no-such-mailbox", "vm-forward-options", "vm-record-introduction",
        "vm-message-forwarded", "vm-mailbox-full",
        "vm-options-menu", "vm-record-greeting", "vm-record-name", "vm-greeting-review", "vm-greeting-recorded",
        "vm-recording-too-short", "vm-temp-greeting-active", "vm-temp-greeting-options", "vm-temp-greeting-removed",
        "vm-enter-new-pin", "vm-reenter-pin", "vm-pins-differ", "vm-pin-refused", "vm-pin-changed",
    ] + SayPhrases.fragments

    /// Runs a store call; a failure is reported (`storeFailed`) and returned as nil, so the
    /// flow can say `vm-error` and carry on instead of dropping the caller.
    func attempt<T>(_ what: String, _ body: () async throws(StoreError) -> T) async -> Result<T, StoreError> {
        do throws(StoreError) {
            return .success(try await body())
        } catch {
            observe(.storeFailed("\(what): \(error)"))
            return .failure(error)
        }
    }
}
