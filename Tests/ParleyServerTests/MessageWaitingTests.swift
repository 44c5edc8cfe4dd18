import Testing
@testable import ParleyServer
import ParleySIP

@Suite("Message-waiting notifier (RFC 3842, RFC 6665) with injected time")
struct MessageWaitingTests {
    static let yaml = """
        sip:
          listen: ["udp:127.0.0.1:5060"]
          trusted: [127.0.0.0/8]
        prompts: /srv/prompts
        tenants:
          acme:
            domains: [pbx.acme.example]
            numbers:
              "100": { play: welcome }
            mwi: { "1001": "sip:1001@127.0.0.1:5099" }
        """

    /// The phone's SUBSCRIBE, as it would arrive on the wire.
    func subscribe(expires: Int, toTag: String? = nil, cseq: UInt32 = 1) throws -> SIPMessage {
        let text = "SUBSCRIBE sip:1001@pbx.acme.example SIP/2.0\r\n"
            + "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-sub\(cseq)\r\n"
            + "From: <sip:phone@127.0.0.1>;tag=ph1\r\nTo: <sip:1001@pbx.acme.example>\(toTag.map { ";tag=\($0)" } ?? "")\r\n"
            + "Call-ID: mwi-1@127.0.0.1\r\nCSeq: \(cseq) SUBSCRIBE\r\nContact: <sip:phone@127.0.0.1:5062>\r\n"
            + "Event: message-summary\r\nExpires: \(expires)\r\nContent-Length: 0\r\n\r\n"
        return try SIPParser().parse(Array(text.utf8))
    }

    @Test("publish notifies the subscriber and the configured target; expiry ends the subscription")
    func publishAndExpire() throws {
        let h = try ControllerHarness(MessageWaitingTests.yaml)
        h.receive(try subscribe(expires: 120))
        let first = h.drain()
        #expect(first.map { $0.status.map(String.init) ?? $0.method ?? "" } == ["200", "NOTIFY"])
        let notify = try #require(first.last)
        #expect(notify["Subscription-State"] == "active;expires=120")
        #expect(try MessageSummary(parsing: notify.bodyText) == MessageSummary(messageAccount: "sip:1001@pbx.acme.example"))
        h.receive(ControllerHarness.ok(notify))

        let summary = MessageSummary(newMessages: 2, oldMessages: 5, urgentNew: 1)
        h.controller.publishMessageSummary(tenant: "acme", mailbox: "1001", summary: summary)
        let published = h.drain()
        #expect(published.count == 2)
        let toSubscriber = try #require(published.first { $0.requestURI == "sip:phone@127.0.0.1:5062" })
        let toTarget = try #require(published.first { $0.requestURI == "sip:1001@127.0.0.1:5099" })
        #expect(try MessageSummary(parsing: toSubscriber.bodyText).newMessages == 2)
        #expect(try MessageSummary(parsing: toTarget.bodyText).messagesWaiting)
        #expect(toTarget["To"] == "<sip:1001@127.0.0.1:5099>" && toTarget["Event"] == "message-summary")
        #expect(toSubscriber.cseq?.number == 2)
        // The target does not answer: Timer E resends its NOTIFY over UDP (T1); the subscriber's 200 stops its own.
        h.receive(ControllerHarness.ok(toSubscriber))
        h.advance(milliseconds: 500)
        #expect(h.drain().map(\.requestURI) == ["sip:1001@127.0.0.1:5099"])
        h.receive(ControllerHarness.ok(toTarget))

        // 120 s later with no refresh: a terminated NOTIFY, and the subscription is gone.
        h.advance(milliseconds: 119_499)
        let early = h.drain().compactMap { $0["Subscription-State"] }.filter { $0.hasPrefix("terminated") }
        #expect(early.isEmpty)
        h.advance(milliseconds: 1)
        let expired = h.drain()
        #expect(expired.count == 1 && expired.first?["Subscription-State"] == "terminated;reason=timeout")
        #expect(h.controller.mailboxSubscriptions.isEmpty)
    }

    @Test("a subscriber answering 481 is dropped")
    func subscriberGone() throws {
        let h = try ControllerHarness(MessageWaitingTests.yaml)
        h.receive(try subscribe(expires: 600))
        let notify = try #require(h.drain().last)
        h.receive(ControllerHarness.ok(notify, status: 481))
        #expect(h.controller.mailboxSubscriptions.isEmpty)
    }

    @Test("a refresh before expiry keeps the subscription past the first deadline")
    func refresh() throws {
        let h = try ControllerHarness(MessageWaitingTests.yaml)
        h.receive(try subscribe(expires: 120))
        let first = h.drain()
        let tag = try #require(first.first.flatMap { $0["To"] }.flatMap(NameAddress.init)?.tag)
        h.receive(ControllerHarness.ok(try #require(first.last)))
        h.advance(milliseconds: 100_000)
        h.receive(try subscribe(expires: 120, toTag: tag, cseq: 2))
        let refreshed = h.drain()
        #expect(refreshed.first?.status == 200 && refreshed.first?["Expires"] == "120")
        h.receive(ControllerHarness.ok(try #require(refreshed.last)))
        h.advance(milliseconds: 30_000)
        #expect(h.drain().isEmpty)
        #expect(h.controller.mailboxSubscriptions.count == 1)
    }
}
