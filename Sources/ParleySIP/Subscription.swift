/// A subscription we serve as notifier (RFC 6665 §4.2): the dialog its SUBSCRIBE created,
/// what it watches, and when it expires. A value: the driver keeps it, asks it for each
/// NOTIFY, and arms a timer at `expiresAt` (ms on the driver's clock).
public struct Subscription: Sendable, Equatable {
    public let callID: String
    /// Our tag (the To tag of our 200, the From tag of our NOTIFYs).
    public let localTag: String
    /// The subscriber's From tag.
    public let subscriberTag: String
    /// The SUBSCRIBE's From and To header values (the To without our tag).
    public let subscriber: String
    public let resource: String
    /// The Event header of the SUBSCRIBE (package and `id`), echoed in every NOTIFY (§8.2.1).
    public let event: String
    /// Where NOTIFYs go: the subscriber's Contact URI (§4.1.2.1), updated by refreshes.
    public private(set) var remoteTarget: String
    /// The SUBSCRIBE's Record-Route URIs in order (RFC 3261 §12.1.1, as `SIPDialog.routeSet`):
    /// NOTIFYs carry them as Route and go to the first.
    public let routeSet: [String]
    public var expiresAt: Int64
    private var localCSeq: UInt32 = 0

    /// Nil when the SUBSCRIBE lacks Call-ID, a From with a tag, To or Event.
    public init?(subscribe: SIPMessage, localTag: String, expiresAt: Int64) {
        guard let callID = subscribe.callID, let from = subscribe["From"], let fromTag = NameAddress(from)?.tag,
              let to = subscribe["To"], let event = subscribe["Event"] else { return nil }
        self.callID = callID
        self.localTag = localTag
        self.subscriberTag = fromTag
        self.subscriber = from
        self.resource = to
        self.event = event
        self.remoteTarget = subscribe["Contact"].flatMap(NameAddress.init)?.uri ?? NameAddress(from)?.uri ?? ""
        self.routeSet = subscribe.values("Record-Route").compactMap { NameAddress($0)?.uri }
        self.expiresAt = expiresAt
    }

    /// Call-ID and the subscriber's tag: what finds the subscription for an in-dialog SUBSCRIBE.
    public static func key(callID: String, subscriberTag: String) -> String { "\(callID);\(subscriberTag)" }
    public var key: String { Subscription.key(callID: callID, subscriberTag: subscriberTag) }

    /// A refreshing SUBSCRIBE (§4.2.1.2): a new expiry and, if it names one, a new target.
    public mutating func refresh(by subscribe: SIPMessage, expiresAt: Int64) {
        self.expiresAt = expiresAt
        if let contact = subscribe["Contact"].flatMap(NameAddress.init)?.uri { remoteTarget = contact }
    }

    /// Where NOTIFYs go first: the first route (loose routing), else the remote target.
    public var nextHop: String { routeSet.first ?? remoteTarget }

    /// The next NOTIFY in the dialog (§4.2.2): `via` is the full Via value (with a fresh branch).
    public mutating func notify(state: SubscriptionState, contentType: String, body: String, via: String,
                                contact: String, userAgent: String) -> SIPMessage {
        localCSeq += 1
        var m = SIPMessage(startLine: .request(method: "NOTIFY", uri: remoteTarget))
        m.append("Via", via)
        m.append("Max-Forwards", "70")
        for route in routeSet { m.append("Route", "<\(route)>") }
        m.append("From", resource.contains(";tag=") ? resource : resource + ";tag=\(localTag)")
        m.append("To", subscriber)
        m.append("Call-ID", callID)
        m.append("CSeq", "\(localCSeq) NOTIFY")
        m.append("Contact", contact)
        m.append("Event", event)
        m.append("Subscription-State", state.description)
        m.append("User-Agent", userAgent)
        m.append("Content-Type", contentType)
        m.body = Array(body.utf8)
        return m
    }
}

/// The expiry a notifier grants a SUBSCRIBE (RFC 6665 §4.2.1.1), in seconds.
public enum SubscriptionExpiry: Sendable, Equatable {
    /// This many seconds (0: a fetch or an unsubscribe — one NOTIFY, then terminated).
    case granted(Int)
    /// Shorter than we accept: 423 Interval Too Brief with Min-Expires.
    case tooBrief(minimum: Int)

    /// `requested` is the Expires header (nil when absent: the package default, RFC 3842 §4
    /// does not fix one, we use `defaultSeconds`); longer than `maximum` is cut to it.
    public static func grant(requested: Int?, minimum: Int, maximum: Int, defaultSeconds: Int) -> SubscriptionExpiry {
        guard let requested else { return .granted(min(defaultSeconds, maximum)) }
        if requested <= 0 { return .granted(0) }
        if requested < minimum { return .tooBrief(minimum: minimum) }
        return .granted(min(requested, maximum))
    }
}
