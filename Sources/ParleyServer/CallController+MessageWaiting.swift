import NIOCore
import ParleySIP

/// Message-waiting indication (RFC 3842 over RFC 6665): we are the notifier of the
/// `message-summary` event for every mailbox of a tenant (a mailbox is a number of the tenant
/// or a key of its `mwi:` map). SUBSCRIBE gets 200 and at once a NOTIFY with the current
/// summary (from `messageSummaries`); a refresh gets a new expiry and a NOTIFY; Expires: 0
/// or the expiry ends it with a `terminated` NOTIFY. `publishMessageSummary` notifies every
/// subscriber of a mailbox and its configured target (unsolicited NOTIFY).
///
/// Runs on the SIP event loop (`publishMessageSummary` may be called from anywhere).
extension CallController {
    /// A subscription and where it lives.
    final class MailboxSubscription {
        var subscription: Subscription
        let tenant: String
        let mailbox: String
        /// Where the subscriber's requests come from, and so where its NOTIFYs go (updated
        /// by refreshes): never the Contact, which a stranger could point at a third party.
        var peer: SIPPeer
        /// The digest user that created it (nil when admitted as trusted): refreshes must be
        /// that user's too.
        let user: String?
        var timer: Scheduled<Void>?

        init(subscription: Subscription, tenant: String, mailbox: String, peer: SIPPeer, user: String?) {
            self.subscription = subscription; self.tenant = tenant; self.mailbox = mailbox; self.peer = peer; self.user = user
        }
    }

    static let messageSummaryEvent = "message-summary"
    /// Expiry bounds for subscriptions, in seconds (RFC 6665 §4.2.1.1: the notifier chooses).
    static let subscriptionExpiry = (minimum: 60, maximum: 3600, default: 3600)
    /// Subscriptions kept at once; beyond, new ones get 503 (memory stays bounded).
    static let maximumSubscriptions = 10_000
    /// Subscriptions one source address may hold, and one tenant: a desk phone watches a few
    /// mailboxes, and one tenant (or one host) cannot take the whole table from the others.
    static let maximumSubscriptionsPerSource = 64
    static let maximumSubscriptionsPerTenant = 2_000

    /// Notifies every subscriber of the mailbox and its configured target of a new summary.
    /// Called by the voicemail application on every change; safe from any thread.
    func publishMessageSummary(tenant: String, mailbox: String, summary: MessageSummary) {
        guard loop.inEventLoop else {
            return loop.execute { self.publishMessageSummary(tenant: tenant, mailbox: mailbox, summary: summary) }
        }
        for entry in mailboxSubscriptions.values where entry.tenant == tenant && entry.mailbox == mailbox {
            notifySubscriber(entry, summary: summary)
        }
        if let target = config.tenants.first(where: { $0.name == tenant })?.messageWaitingTargets[mailbox] {
            sendUnsolicitedNotify(to: target, tenant: tenant, mailbox: mailbox, summary: summary)
        }
    }

    /// At start: every configured target hears its mailbox's current state, so a phone shows
    /// the right lamp after our restart without waiting for the next change.
    func announceMessageWaiting() {
        for tenant in config.tenants {
            for (mailbox, target) in tenant.messageWaitingTargets.sorted(by: { $0.key < $1.key }) {
                sendUnsolicitedNotify(to: target, tenant: tenant.name, mailbox: mailbox,
                                      summary: currentSummary(tenant: tenant.name, mailbox: mailbox))
            }
        }
    }

    /// Shutdown: every subscriber hears that its subscription ended (RFC 6665 §4.2.2,
    /// `reason=deactivated`: it may subscribe again, to us after a restart or to another server).
    func terminateSubscriptions() {
        for entry in mailboxSubscriptions.values {
            endSubscription(entry)
            notifySubscriber(entry, summary: currentSummary(tenant: entry.tenant, mailbox: entry.mailbox),
                             state: SubscriptionState(.terminated, reason: "deactivated"))
        }
    }

    func handleSubscribe(_ subscribe: SIPMessage, from source: SIPPeer) {
        let event = subscribe["Event"].flatMap { $0.split(separator: ";").first }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard event == CallController.messageSummaryEvent else {
            var r = SIPResponses.response(to: subscribe, status: 489, reason: "Bad Event", toTag: SIPResponses.randomToken(10))
            r.append("Allow-Events", CallController.messageSummaryEvent)
            return send(r, source)
        }
        // Admitted like an INVITE: a trusted network, or (with `sip.auth`) digest credentials of
        // a user who may reach the Request-URI's tenant; others get 403 or a challenge.
        let user: String?
        switch authenticator.admit(subscribe, from: source) {
        case let .refuse(r, why):
            logger.notice("SUBSCRIBE refused", metadata: ["from": "\(source.address)", "status": "\(r.status ?? 0)", "why": "\(why)"])
            return send(r, source)
        case let .admit(admitted):
            user = admitted
        }
        let requested = subscribe["Expires"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let limits = CallController.subscriptionExpiry
        let grant = SubscriptionExpiry.grant(requested: requested, minimum: limits.minimum, maximum: limits.maximum, defaultSeconds: limits.default)
        let toTag = subscribe["To"].flatMap(NameAddress.init)?.tag
        let existing = toTag.flatMap { _ in
            subscribe.callID.flatMap { id in subscribe["From"].flatMap(NameAddress.init)?.tag.map { Subscription.key(callID: id, subscriberTag: $0) } }
        }.flatMap { mailboxSubscriptions[$0] }
        if toTag != nil, existing?.subscription.localTag != toTag {
            return send(SIPResponses.response(to: subscribe, status: 481, reason: "Subscription Does Not Exist"), source)
        }
        if let entry = existing, let refusal = refreshRefusal(entry, from: source, user: user) {
            logger.notice("subscription refresh refused", metadata: ["from": "\(source.address)", "mailbox": "\(entry.mailbox)", "why": "\(refusal)"])
            var r = SIPResponses.response(to: subscribe, status: 403, reason: "Forbidden")
            r.appendWarning(399, refusal)
            return send(r, source)
        }
        if case let .tooBrief(minimum) = grant {
            var r = SIPResponses.response(to: subscribe, status: 423, reason: "Interval Too Brief", toTag: toTag ?? SIPResponses.randomToken(10))
            r.append("Min-Expires", "\(minimum)")
            return send(r, source)
        }
        guard case let .granted(seconds) = grant else { return }
        if let entry = existing {
            entry.peer = source
            send(accepted(subscribe, seconds: seconds, localTag: entry.subscription.localTag, contact: mailboxContact(entry.mailbox)), source)
            return renew(entry, by: subscribe, seconds: seconds)
        }
        guard let uri = subscribe.requestURI.flatMap(SIPURI.init), let tenant = config.tenant(forHost: uri.host),
              let mailbox = uri.user, tenant.numbers[mailbox] != nil || tenant.messageWaitingTargets[mailbox] != nil || tenant.mailboxes[mailbox] != nil else {
            return send(SIPResponses.response(to: subscribe, status: 404, reason: "Not Found", toTag: SIPResponses.randomToken(10)), source)
        }
        if let (bound, full) = subscriptionCapReached(tenant: tenant.name, source: source) {
            logger.notice("SUBSCRIBE refused", metadata: ["from": "\(source.address)", "tenant": "\(tenant.name)", "why": "\(full)"])
            ParleyMetrics.subscriptionRefused(bound: bound)
            var r = SIPResponses.response(to: subscribe, status: 503, reason: "Service Unavailable", toTag: SIPResponses.randomToken(10))
            r.append("Retry-After", "300")
            r.appendWarning(399, full)
            return send(r, source)
        }
        let localTag = SIPResponses.randomToken(10)
        guard let subscription = Subscription(subscribe: subscribe, localTag: localTag,
                                              expiresAt: nowMilliseconds + Int64(seconds) * 1000) else {
            var r = SIPResponses.response(to: subscribe, status: 400, reason: "Bad Request", toTag: localTag)
            r.appendWarning(399, "SUBSCRIBE needs a From tag, To and Event")
            return send(r, source)
        }
        send(accepted(subscribe, seconds: seconds, localTag: localTag, contact: mailboxContact(mailbox)), source)
        let entry = MailboxSubscription(subscription: subscription, tenant: tenant.name, mailbox: mailbox, peer: source, user: user)
        logger.info("mailbox subscription", metadata: ["tenant": "\(tenant.name)", "mailbox": "\(mailbox)", "expires": "\(seconds)"])
        if seconds == 0 {
            // A fetch (RFC 6665 §4.4.3): one NOTIFY with the state, the subscription ends at once.
            return notifySubscriber(entry, summary: currentSummary(tenant: tenant.name, mailbox: mailbox),
                                    state: SubscriptionState(.terminated, reason: "timeout"))
        }
        mailboxSubscriptions[subscription.key] = entry
        armExpiry(entry)
        notifySubscriber(entry, summary: currentSummary(tenant: tenant.name, mailbox: mailbox))
    }

    /// Why a refresh of `entry` may not come from `source` (nil when it may): it must come
    /// from the subscriber's address (any port) or a trusted network, and, when the
    /// subscription was made by a digest user, be that user's.
    private func refreshRefusal(_ entry: MailboxSubscription, from source: SIPPeer, user: String?) -> String? {
        guard let ip = source.address.ipAddress else { return "no source address" }
        if ip != entry.peer.address.ipAddress, !config.sip.trusted.contains(where: { $0.contains(ip) }) {
            return "\(ip) is neither the subscriber nor a trusted network"
        }
        if let owner = entry.user, user != owner { return "the subscription belongs to another user" }
        return nil
    }

    /// Which bound a new subscription from `source` to `tenant` would break, if any: its
    /// name (`total`, `source`, `tenant`) and the Warning text.
    func subscriptionCapReached(tenant: String, source: SIPPeer) -> (String, String)? {
        if mailboxSubscriptions.count >= CallController.maximumSubscriptions { return ("total", "too many subscriptions") }
        let ip = source.address.ipAddress
        var fromSource = 0, ofTenant = 0
        for entry in mailboxSubscriptions.values {
            if entry.peer.address.ipAddress == ip { fromSource += 1 }
            if entry.tenant == tenant { ofTenant += 1 }
        }
        if fromSource >= CallController.maximumSubscriptionsPerSource { return ("source", "too many subscriptions from \(ip ?? "?")") }
        if ofTenant >= CallController.maximumSubscriptionsPerTenant { return ("tenant", "too many subscriptions for tenant \(tenant)") }
        return nil
    }

    private func renew(_ entry: MailboxSubscription, by subscribe: SIPMessage, seconds: Int) {
        let summary = currentSummary(tenant: entry.tenant, mailbox: entry.mailbox)
        if seconds == 0 {
            // Unsubscribe (§4.1.2.3): a final NOTIFY, then nothing.
            endSubscription(entry)
            return notifySubscriber(entry, summary: summary, state: SubscriptionState(.terminated, reason: "timeout"))
        }
        entry.subscription.refresh(by: subscribe, expiresAt: nowMilliseconds + Int64(seconds) * 1000)
        armExpiry(entry)
        notifySubscriber(entry, summary: summary)
    }

    private func accepted(_ subscribe: SIPMessage, seconds: Int, localTag: String, contact: String) -> SIPMessage {
        var r = SIPResponses.response(to: subscribe, status: 200, reason: "OK", toTag: localTag)
        r.append("Expires", "\(seconds)")
        r.append("Contact", contact)
        return r
    }

    private func armExpiry(_ entry: MailboxSubscription) {
        entry.timer?.cancel()
        let delay = max(0, entry.subscription.expiresAt - nowMilliseconds)
        entry.timer = loop.scheduleTask(in: .milliseconds(delay)) { [weak self] in
            guard let self, self.mailboxSubscriptions[entry.subscription.key] === entry else { return }
            self.endSubscription(entry)
            self.notifySubscriber(entry, summary: self.currentSummary(tenant: entry.tenant, mailbox: entry.mailbox),
                                  state: SubscriptionState(.terminated, reason: "timeout"))
        }
    }

    private func endSubscription(_ entry: MailboxSubscription) {
        entry.timer?.cancel()
        if mailboxSubscriptions[entry.subscription.key] === entry { mailboxSubscriptions[entry.subscription.key] = nil }
    }

    /// The summary now, with the mailbox's account filled in when the provider left it out.
    private func currentSummary(tenant: String, mailbox: String) -> MessageSummary {
        messageSummaries.summary(tenant: tenant, mailbox: mailbox)
    }

    private func withAccount(_ summary: MessageSummary, tenant: String, mailbox: String) -> MessageSummary {
        guard summary.messageAccount == nil else { return summary }
        var s = summary
        let domain = config.tenants.first(where: { $0.name == tenant })?.domains.first ?? localHost
        s.messageAccount = "sip:\(mailbox)@\(domain)"
        return s
    }

    /// NOTIFY in the subscription's dialog; `state` defaults to active with the time left.
    /// A 481 or no answer ends the subscription (RFC 6665 §4.2.2).
    private func notifySubscriber(_ entry: MailboxSubscription, summary: MessageSummary, state: SubscriptionState? = nil) {
        let left = Int(max(0, entry.subscription.expiresAt - nowMilliseconds) / 1000)
        let notify = entry.subscription.notify(
            state: state ?? SubscriptionState(.active, expires: left), contentType: MessageSummary.contentType,
            body: withAccount(summary, tenant: entry.tenant, mailbox: entry.mailbox).serialized,
            via: via(for: entry.peer), contact: mailboxContact(entry.mailbox), userAgent: SIPResponses.server)
        // To the address the subscriber's SUBSCRIBE came from (its TCP connection while open):
        // a record-routing proxy is that address anyway, and a Contact or Record-Route naming
        // some third party must not turn us into a NOTIFY cannon aimed at it.
        startClientTransaction(notify, to: entry.peer) { [weak self] event in
            guard let self, let status = event.finalStatus, status == 481 || status == 408 || status == 503 else { return }
            self.logger.notice("subscriber gone; subscription ended", metadata: ["mailbox": "\(entry.mailbox)", "status": "\(status)"])
            self.endSubscription(entry)
        }
    }

    /// NOTIFY outside any dialog to a configured target (RFC 3842 §3: unsolicited).
    private func sendUnsolicitedNotify(to target: String, tenant: String, mailbox: String, summary: MessageSummary) {
        guard let uri = SIPURI(target), let address = try? SocketAddress(ipAddress: uri.host, port: uri.port ?? 5060) else {
            return logger.warning("message-waiting target is not an IP address; not notified", metadata: ["target": "\(target)"])
        }
        let peer = SIPPeer(address: address)
        var notify = SIPMessage(startLine: .request(method: "NOTIFY", uri: target))
        notify.append("Via", via(for: peer))
        notify.append("Max-Forwards", "70")
        notify.append("From", mailboxContact(mailbox) + ";tag=\(SIPResponses.randomToken(10))")
        notify.append("To", "<\(target)>")
        notify.append("Call-ID", "\(SIPResponses.randomToken(20))@\(hostReference(localHost))")
        notify.append("CSeq", "1 NOTIFY")
        notify.append("Contact", mailboxContact(mailbox))
        notify.append("Event", CallController.messageSummaryEvent)
        notify.append("Subscription-State", SubscriptionState(.active).description)
        notify.append("User-Agent", SIPResponses.server)
        notify.append("Content-Type", MessageSummary.contentType)
        notify.body = Array(withAccount(summary, tenant: tenant, mailbox: mailbox).serialized.utf8)
        let logger = self.logger
        startClientTransaction(notify, to: peer) { event in
            if let status = event.finalStatus, status >= 300 {
                logger.notice("message-waiting NOTIFY not accepted", metadata: ["target": "\(target)", "status": "\(status)"])
            }
        }
    }

    private func mailboxContact(_ mailbox: String) -> String { "<sip:\(mailbox)@\(hostReference(localHost)):\(localPort)>" }
}
