import Foundation
import Logging
import Metrics

/// Retry policy: exponential back-off from `retryBase`, at most `retryCap` apart, until a
/// message is `maxAge` old; then it fails (moved to `failed/` with the last reply).
public struct MailRetryPolicy: Sendable, Equatable {
    public var retryBaseSeconds: Double
    public var retryCapSeconds: Double
    public var maxAgeSeconds: Double

    public init(retryBaseSeconds: Double = 60, retryCapSeconds: Double = 3600, maxAgeSeconds: Double = 5 * 86400) {
        self.retryBaseSeconds = retryBaseSeconds
        self.retryCapSeconds = retryCapSeconds
        self.maxAgeSeconds = maxAgeSeconds
    }

    /// Seconds to wait after the `attempts`-th failed attempt: base × 2^(attempts−1), capped.
    public func delay(afterAttempts attempts: Int) -> Double {
        let exponent = Double(max(0, min(attempts - 1, 30)))
        return min(retryCapSeconds, retryBaseSeconds * pow(2, exponent))
    }
}

/// Sends what the spool holds, oldest first, one SMTP transaction per message.
///
/// Order of effects for one message, so a crash at any instant loses nothing:
/// 1. the file stays in `new/` during the SMTP session (a crash: sent again later);
/// 2. after the relay's 250 to DATA for the last open recipients, `new/X` is renamed to
///    `sent/X` (a crash between the 250 and this rename: **one duplicate email**, the only
///    one possible, with the same Message-ID);
/// 3. the voicemail is updated (email state, delete-after-email) through the observer;
/// 4. `sent/X` is removed. A crash between 2 and 4 repeats 3 at the next start (idempotent).
/// Partial success rewrites `new/X` with only the recipients still open (a crash before the
/// rewrite: the accepted recipients get one duplicate).
///
/// Only one process delivers from a spool at a time: the service holds `flock` on
/// `<spool>/deliver.lock` (released by the kernel if the process dies); another one waits.
public actor MailDeliveryService {
    public nonisolated let spool: MailSpool
    let client: SMTPClient
    let policy: MailRetryPolicy
    let observer: VoicemailEmailObserver?
    let logger: Logger
    let pollInterval: Duration
    private var lockDescriptor: Int32 = -1
    private var ignoreScheduleOnce = false
    /// Queued files whose body was checked whole (length, digest) by this process.
    private var checked = Set<String>()
    private var totals: MailTotals

    let deliveredCounter = Counter(label: "parley_mail_delivered_total")
    let deferredCounter = Counter(label: "parley_mail_deferred_total")
    let failedCounter = Counter(label: "parley_mail_failed_total")
    let queueGauge = Gauge(label: "parley_mail_queue_depth")
    let oldestGauge = Gauge(label: "parley_mail_oldest_age_seconds")

    public init(spool: MailSpool, client: SMTPClient, policy: MailRetryPolicy, observer: VoicemailEmailObserver?,
                pollInterval: Duration = .seconds(1), logger: Logger = Logger(label: "parley.mail")) {
        self.spool = spool
        self.client = client
        self.policy = policy
        self.observer = observer
        self.pollInterval = pollInterval
        self.logger = logger
        totals = spool.readTotals()
    }

    /// Runs until the task is cancelled.
    public func run() async {
        logger.info("mail delivery started", metadata: ["relay": "\(client.settings.host):\(client.settings.port)",
                                                         "spool": "\(spool.directory)"])
        var warnedAboutLock = false
        while !Task.isCancelled {
            if acquireLock() {
                if warnedAboutLock { logger.notice("mail delivery: spool lock acquired") }
                warnedAboutLock = false
                await deliverDue(now: Date())
            } else if !warnedAboutLock {
                logger.notice("mail delivery: another process delivers from this spool; waiting", metadata: ["spool": "\(spool.directory)"])
                warnedAboutLock = true
            }
            try? await Task.sleep(for: pollInterval)
        }
        releaseLock()
        logger.info("mail delivery stopped")
    }

    /// One pass over every due message, then the lock is released (`parley mail deliver
    /// --once`). False when another process holds the spool.
    public func deliverOnce() async -> Bool {
        guard acquireLock() else { return false }
        await deliverDue(now: Date())
        releaseLock()
        return true
    }

    /// Makes every queued message due at the next pass, whatever its back-off.
    public func retryNow() {
        ignoreScheduleOnce = true
    }

    public func status(now: Date = Date()) -> MailQueueStatus {
        spool.status(now: now)
    }

    /// One pass: finishes messages left in `sent/`, then tries every due message.
    /// Call only while holding the lock (`run` does).
    func deliverDue(now: Date) async {
        await finishSent()
        let force = ignoreScheduleOnce
        ignoreScheduleOnce = false
        var relayDown: String?
        var depth = 0
        var oldest: Date?
        let names = spool.queued()
        checked.formIntersection(names)
        for name in names {
            guard !Task.isCancelled else { return }
            // Each file is checked whole once (a damaged one is moved aside at first sight);
            // after that its head alone says whether it is due, so a queue of large messages
            // waiting for their retry costs a few KB read per message and pass.
            if checked.contains(name), let head = spool.head(name) {
                depth += 1
                if oldest.map({ head.created < $0 }) ?? true { oldest = head.created }
                guard force || head.nextAttempt <= Date() else { continue }
            }
            let loaded: Result<(SpoolEnvelope, Data), SpoolFileError>
            do { loaded = try spool.load(name) } catch {
                logger.error("spool file unreadable", metadata: ["spool": "\(name)", "error": "\(error)"])
                continue
            }
            switch loaded {
            case let .failure(reason):
                spool.quarantine(name, reason: reason)
                totals.failed += 1
                failedCounter.increment()
                spool.writeTotals(totals)
            case let .success((envelope, body)):
                if !checked.contains(name) {
                    checked.insert(name)
                    depth += 1
                    if oldest.map({ envelope.created < $0 }) ?? true { oldest = envelope.created }
                    guard force || envelope.nextAttempt <= Date() else { continue }
                }
                if let relayDown {
                    // The relay was unreachable a moment ago: no new connection per message.
                    await settle(name, envelope, body, outcomes: envelope.recipients.map { _ in .deferred(relayDown) })
                } else {
                    let (outcomes, connected) = await client.send(from: envelope.sender, to: envelope.recipients, message: body)
                    if !connected, case let .deferred(why)? = outcomes.first { relayDown = why }
                    await settle(name, envelope, body, outcomes: outcomes)
                }
            }
        }
        queueGauge.record(depth)
        oldestGauge.record(oldest.map { max(0, Date().timeIntervalSince($0)) } ?? 0)
    }

    /// Applies one attempt's outcomes to the spool file and the voicemail.
    func settle(_ name: String, _ old: SpoolEnvelope, _ body: Data, outcomes: [RecipientOutcome]) async {
        var e = old
        e.attempts += 1
        var open: [MailAddress] = []
        var accepted: [MailAddress] = []
        for (recipient, outcome) in zip(old.recipients, outcomes) {
            switch outcome {
            case .accepted: accepted.append(recipient)
            case let .rejected(reply): e.rejected.append(.init(recipient: recipient, reply: reply))
            case let .deferred(reply):
                open.append(recipient)
                e.lastReply = reply
            }
        }
        e.delivered += accepted
        e.recipients = open
        let meta: Logger.Metadata = ["spool": "\(name)", "attempt": "\(e.attempts)", "accepted": "\(accepted.count)",
                                     "deferred": "\(open.count)", "rejected": "\(e.rejected.count)"]
        do {
            if open.isEmpty {
                if e.delivered.isEmpty {
                    let reply = e.rejected.map { "\($0.recipient.address): \($0.reply)" }.joined(separator: "\n")
                    try spool.fail(name, reply: reply)
                    count(failed: true)
                    await tellObserver(e, delivered: false)
                } else {
                    try spool.markSent(name)
                    logger.info("mail delivered", metadata: meta)
                    count(failed: false)
                    await finish(name, e)
                }
                return
            }
            let age = Date().timeIntervalSince(e.created)
            if age >= policy.maxAgeSeconds {
                let reply = "gave up after \(e.attempts) attempts in \(Int(age)) s; last reply: \(e.lastReply)"
                try spool.update(name, envelope: e, body: body)
                try spool.fail(name, reply: reply)
                count(failed: true)
                await tellObserver(e, delivered: !e.delivered.isEmpty)
                return
            }
            e.nextAttempt = Date().addingTimeInterval(policy.delay(afterAttempts: e.attempts))
            try spool.update(name, envelope: e, body: body)
            totals.deferred += 1
            deferredCounter.increment()
            spool.writeTotals(totals)
            logger.notice("mail deferred", metadata: meta.merging(["reply": "\(e.lastReply)", "next_attempt": "\(e.nextAttempt)"]) { $1 })
        } catch {
            // The file is still in new/ (or already in sent/): nothing is lost; next pass.
            logger.error("spool update failed", metadata: ["spool": "\(name)", "error": "\(error)"])
        }
    }

    func count(failed: Bool) {
        if failed {
            totals.failed += 1
            failedCounter.increment()
        } else {
            totals.delivered += 1
            deliveredCounter.increment()
        }
        spool.writeTotals(totals)
    }

    /// Files accepted by the relay before a crash: update their voicemail, then remove them.
    func finishSent() async {
        for name in spool.sentPending() {
            guard let e = spool.loadSent(name) else {
                try? spool.removeSent(name)
                continue
            }
            await finish(name, e)
        }
    }

    func finish(_ name: String, _ e: SpoolEnvelope) async {
        guard await tellObserver(e, delivered: true) else { return }  // kept in sent/: next pass
        do { try spool.removeSent(name) } catch {
            logger.error("cannot remove a delivered spool file", metadata: ["spool": "\(name)", "error": "\(error)"])
        }
    }

    @discardableResult
    func tellObserver(_ e: SpoolEnvelope, delivered: Bool) async -> Bool {
        guard let voicemail = e.voicemail, let observer else { return true }
        do {
            if delivered {
                try await observer.emailDelivered(voicemail, toEveryone: e.rejected.isEmpty && e.recipients.isEmpty)
            } else {
                try await observer.emailFailed(voicemail)
            }
            return true
        } catch {
            logger.warning("voicemail not updated after its email; will retry", metadata: ["message": "\(voicemail.messageID)",
                                                                                          "error": "\(error)"])
            return false
        }
    }

    // MARK: - The spool lock

    func acquireLock() -> Bool {
        if lockDescriptor >= 0 { return true }
        let fd = open("\(spool.directory)/deliver.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return false }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return false
        }
        lockDescriptor = fd
        spool.removeStaleTemporaries(olderThan: 3600, now: Date())
        return true
    }

    func releaseLock() {
        guard lockDescriptor >= 0 else { return }
        close(lockDescriptor)
        lockDescriptor = -1
    }
}
