import Testing
@testable import ParleySIP

struct MessageSummaryTests {
    @Test func serializesTheRFC3842Body() {
        let s = MessageSummary(newMessages: 2, oldMessages: 8, urgentNew: 1, urgentOld: 0, messageAccount: "sip:1001@acme.example")
        #expect(s.messagesWaiting)
        #expect(s.serialized == "Messages-Waiting: yes\r\nMessage-Account: sip:1001@acme.example\r\nVoice-Message: 2/8 (1/0)\r\n")
        #expect(MessageSummary().serialized == "Messages-Waiting: no\r\nVoice-Message: 0/0 (0/0)\r\n")
        // Waiting may be stated against the counts (RFC 3842 §5.2 leaves it to the notifier).
        #expect(MessageSummary(oldMessages: 3, messagesWaiting: true).serialized.hasPrefix("Messages-Waiting: yes"))
    }

    @Test func parsesWhatItSerializesAndTheRFCExample() throws {
        let s = MessageSummary(newMessages: 4, oldMessages: 8, urgentNew: 1, urgentOld: 2, messageAccount: "sip:alice@vmail.example.com")
        #expect(try MessageSummary(parsing: s.serialized) == s)
        // RFC 3842 §6: with other message classes and an optional-header part.
        let example = """
            Messages-Waiting: yes
            Message-Account: sip:alice@vmail.example.com
            Voice-Message: 4/8 (1/2)
            Fax-Message: 1/0
            """
        let parsed = try MessageSummary(parsing: example)
        #expect(parsed == MessageSummary(newMessages: 4, oldMessages: 8, urgentNew: 1, urgentOld: 2, messageAccount: "sip:alice@vmail.example.com"))
        #expect(try MessageSummary(parsing: "messages-waiting:no\nvoice-message: 0/3") == MessageSummary(oldMessages: 3))
    }

    @Test func rejectsMalformedBodies() {
        #expect(throws: MessageSummaryError.missingMessagesWaiting) { try MessageSummary(parsing: "Voice-Message: 1/0") }
        #expect(throws: MessageSummaryError.invalidLine("Messages-Waiting: maybe")) { try MessageSummary(parsing: "Messages-Waiting: maybe") }
        for bad in ["Voice-Message: 1", "Voice-Message: a/b", "Voice-Message: 1/2 (3)", "Voice-Message: -1/2", "Voice-Message: 1/2 (3/4"] {
            #expect(throws: MessageSummaryError.self, "\(bad)") { try MessageSummary(parsing: "Messages-Waiting: yes\r\n" + bad) }
        }
        #expect(throws: MessageSummaryError.self) { try MessageSummary(parsing: "Messages-Waiting yes") }
    }
}

struct SubscriptionTests {
    func subscribe(expires: String? = "600") -> SIPMessage {
        var m = SIPMessage(startLine: .request(method: "SUBSCRIBE", uri: "sip:1001@pbx.example"))
        m.append("Via", "SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bK-s1")
        m.append("From", "<sip:phone@192.0.2.5>;tag=ph1")
        m.append("To", "<sip:1001@pbx.example>")
        m.append("Call-ID", "sub-1@192.0.2.5")
        m.append("CSeq", "1 SUBSCRIBE")
        m.append("Contact", "<sip:phone@192.0.2.5:5062>")
        m.append("Event", "message-summary;id=7")
        if let expires { m.append("Expires", expires) }
        return m
    }

    @Test func notifiesInTheDialogTheSUBSCRIBECreated() throws {
        var s = try #require(Subscription(subscribe: subscribe(), localTag: "nt1", expiresAt: 600_000))
        #expect(s.key == "sub-1@192.0.2.5;ph1")
        let n1 = s.notify(state: SubscriptionState(.active, expires: 600), contentType: MessageSummary.contentType,
                          body: MessageSummary().serialized, via: "SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK-n1",
                          contact: "<sip:1001@198.51.100.1:5060>", userAgent: "Parley")
        #expect(n1.requestURI == "sip:phone@192.0.2.5:5062")
        #expect(n1["From"] == "<sip:1001@pbx.example>;tag=nt1")
        #expect(n1["To"] == "<sip:phone@192.0.2.5>;tag=ph1")
        #expect(n1["Event"] == "message-summary;id=7")
        #expect(n1["Subscription-State"] == "active;expires=600")
        #expect(n1.cseq?.number == 1)
        var refresh = subscribe(expires: "300")
        refresh.set("Contact", "<sip:phone@192.0.2.5:5070>")
        s.refresh(by: refresh, expiresAt: 900_000)
        let n2 = s.notify(state: SubscriptionState(.terminated, reason: "timeout"), contentType: MessageSummary.contentType,
                          body: "", via: "v", contact: "c", userAgent: "Parley")
        #expect(n2.cseq?.number == 2 && n2.requestURI == "sip:phone@192.0.2.5:5070" && s.expiresAt == 900_000)
    }

    @Test func aSUBSCRIBEWithoutFromTagMakesNoSubscription() {
        var m = subscribe()
        m.set("From", "<sip:phone@192.0.2.5>")
        #expect(Subscription(subscribe: m, localTag: "x", expiresAt: 0) == nil)
    }

    @Test func theNotifierGrantsExpiriesWithinItsBounds() {
        let grant = { (r: Int?) in SubscriptionExpiry.grant(requested: r, minimum: 60, maximum: 3600, defaultSeconds: 3600) }
        #expect(grant(nil) == .granted(3600))
        #expect(grant(0) == .granted(0))
        #expect(grant(30) == .tooBrief(minimum: 60))
        #expect(grant(60) == .granted(60))
        #expect(grant(86_400) == .granted(3600))
    }
}
