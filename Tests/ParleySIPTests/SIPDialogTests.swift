import Testing
@testable import ParleySIP

/// RFC 3261 §12: matching requests to the dialog an INVITE created, and addressing ours.
struct SIPDialogTests {
    static func message(_ text: String) -> SIPMessage {
        (try? SIPParser().parse(Array(text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n").utf8)))
            ?? SIPMessage(startLine: .request(method: "X", uri: ""))
    }

    static let invite = message("""
        INVITE sip:100@127.0.0.1 SIP/2.0
        Via: SIP/2.0/UDP 10.0.0.2:5062;branch=z9hG4bKa
        Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>
        From: "Alice" <sip:alice@example.com>;tag=peer1
        To: <sip:100@127.0.0.1>
        Call-ID: c1@example.com
        CSeq: 7 INVITE
        Contact: <sip:alice@10.0.0.2:5062>
        Content-Length: 0


        """)

    static func dialog() -> SIPDialog? { SIPDialog(uas: invite, localTag: "ours") }

    static func request(_ method: String, cseq: UInt32, fromTag: String? = "peer1", toTag: String? = "ours",
                        cseqMethod: String? = nil, callID: String = "c1@example.com", contact: String? = nil) -> SIPMessage {
        var m = SIPMessage(startLine: .request(method: method, uri: "sip:100@127.0.0.1"))
        m.append("Via", "SIP/2.0/UDP 10.0.0.2:5062;branch=z9hG4bK\(method)\(cseq)")
        m.append("From", "<sip:alice@example.com>" + (fromTag.map { ";tag=\($0)" } ?? ""))
        m.append("To", "<sip:100@127.0.0.1>" + (toTag.map { ";tag=\($0)" } ?? ""))
        m.append("Call-ID", callID)
        m.append("CSeq", "\(cseq) \(cseqMethod ?? method)")
        if let contact { m.append("Contact", contact) }
        return m
    }

    @Test func givenAnINVITEThenTheDialogTakesItsIdentityRouteSetAndTarget() throws {
        let d = try #require(SIPDialogTests.dialog())
        #expect(d.callID == "c1@example.com" && d.localTag == "ours" && d.remoteTag == "peer1")
        #expect(d.remoteCSeq == 7 && d.localCSeq == 0)
        // §12.1.1: the UAS keeps the Record-Route URIs in the order received.
        #expect(d.routeSet == ["sip:p2.example.com;lr", "sip:p1.example.com;lr"])
        #expect(d.remoteTarget == "sip:alice@10.0.0.2:5062")
        #expect(!d.secure)
        #expect(d.localParty == "<sip:100@127.0.0.1>;tag=ours")
    }

    @Test func givenTheRightTagsAndAHigherCSeqThenTheRequestMatches() throws {
        let d = try #require(SIPDialogTests.dialog())
        for method in ["BYE", "INVITE", "UPDATE", "INFO", "NOTIFY", "REFER"] {
            #expect(d.classify(SIPDialogTests.request(method, cseq: 8)) == .matches, "\(method)")
        }
    }

    @Test func givenWrongOrMissingTagsOrAnotherCallIDThenTheDialogDoesNotExist() throws {
        let d = try #require(SIPDialogTests.dialog())
        #expect(d.classify(SIPDialogTests.request("BYE", cseq: 8, toTag: "guess")) == .doesNotExist)
        #expect(d.classify(SIPDialogTests.request("BYE", cseq: 8, fromTag: "guess")) == .doesNotExist)
        #expect(d.classify(SIPDialogTests.request("INVITE", cseq: 8, toTag: nil)) == .doesNotExist)
        #expect(d.classify(SIPDialogTests.request("INFO", cseq: 8, fromTag: nil)) == .doesNotExist)
        #expect(d.classify(SIPDialogTests.request("BYE", cseq: 8, callID: "other")) == .doesNotExist)
        #expect(d.classify(SIPDialogTests.request("BYE", cseq: 8, cseqMethod: "INFO")) == .doesNotExist)
    }

    @Test func givenARequestInTheDialogThenItsIDIsTheDialogsAndGuessedTagsGiveAnother() throws {
        let d = try #require(SIPDialogTests.dialog())
        #expect(d.id == SIPDialog.ID(callID: "c1@example.com", localTag: "ours", remoteTag: "peer1"))
        #expect(SIPDialog.ID(request: SIPDialogTests.request("BYE", cseq: 8)) == d.id)
        #expect(SIPDialog.ID(request: SIPDialogTests.request("BYE", cseq: 8, toTag: "guess")) != d.id)
        #expect(SIPDialog.ID(request: SIPDialogTests.request("BYE", cseq: 8, fromTag: "guess")) != d.id)
        #expect(SIPDialog.ID(request: SIPDialogTests.request("BYE", cseq: 8, callID: "other")) != d.id)
        // No To tag: no dialog to name (an initial request).
        #expect(SIPDialog.ID(request: SIPDialogTests.request("INVITE", cseq: 8, toTag: nil)) == nil)
    }

    @Test func givenACSeqNotAboveTheLastThenTheRequestIsOutOfOrderOrARepeat() throws {
        var d = try #require(SIPDialogTests.dialog())
        #expect(d.classify(SIPDialogTests.request("BYE", cseq: 6)) == .outOfOrder)
        #expect(d.classify(SIPDialogTests.request("INFO", cseq: 7)) == .repeated)
        d.accept(SIPDialogTests.request("INFO", cseq: 20))
        #expect(d.remoteCSeq == 20)
        #expect(d.classify(SIPDialogTests.request("INFO", cseq: 19)) == .outOfOrder)
        #expect(d.classify(SIPDialogTests.request("INFO", cseq: 21)) == .matches)
    }

    @Test func givenAnACKThenItMustCarryTheCSeqOfTheLastINVITE() throws {
        var d = try #require(SIPDialogTests.dialog())
        #expect(d.classify(SIPDialogTests.request("ACK", cseq: 7)) == .matches)
        #expect(d.classify(SIPDialogTests.request("ACK", cseq: 8)) == .strayACK)
        #expect(d.classify(SIPDialogTests.request("ACK", cseq: 7, toTag: "guess")) == .doesNotExist)
        d.accept(SIPDialogTests.request("INVITE", cseq: 9))
        #expect(d.classify(SIPDialogTests.request("ACK", cseq: 9)) == .matches)
        #expect(d.classify(SIPDialogTests.request("ACK", cseq: 7)) == .strayACK)
        // An ACK never moves the remote CSeq.
        d.accept(SIPDialogTests.request("ACK", cseq: 9))
        #expect(d.remoteCSeq == 9)
    }

    @Test func givenACANCELThenOnlyItsIdentityIsChecked() throws {
        let d = try #require(SIPDialogTests.dialog())
        #expect(d.classify(SIPDialogTests.request("CANCEL", cseq: 7, toTag: nil)) == .matches)
        #expect(d.classify(SIPDialogTests.request("CANCEL", cseq: 7, toTag: "guess")) == .doesNotExist)
        #expect(d.classify(SIPDialogTests.request("CANCEL", cseq: 7, fromTag: "guess", toTag: nil)) == .doesNotExist)
    }

    @Test func givenATargetRefreshThenTheRemoteTargetMoves() throws {
        var d = try #require(SIPDialogTests.dialog())
        d.accept(SIPDialogTests.request("INFO", cseq: 8, contact: "<sip:evil@192.0.2.9>"))
        #expect(d.remoteTarget == "sip:alice@10.0.0.2:5062", "INFO is no target refresh")
        d.accept(SIPDialogTests.request("INVITE", cseq: 9, contact: "<sip:alice@10.0.0.3:5062>"))
        #expect(d.remoteTarget == "sip:alice@10.0.0.3:5062")
    }

    @Test func givenALooseRouteSetThenOurRequestsGoToTheFirstRouteWithTheTargetAsRequestURI() throws {
        var d = try #require(SIPDialogTests.dialog())
        let bye = d.request(method: "BYE")
        #expect(bye.requestURI == "sip:alice@10.0.0.2:5062")
        #expect(bye.headers.filter { $0.name == "Route" }.map(\.value) == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"])
        #expect(bye["From"] == "<sip:100@127.0.0.1>;tag=ours")
        #expect(bye["To"] == "\"Alice\" <sip:alice@example.com>;tag=peer1")
        #expect(bye["CSeq"] == "1 BYE")
        #expect(d.request(method: "UPDATE")["CSeq"] == "2 UPDATE")
        #expect(d.nextHop == "sip:p2.example.com;lr")
    }

    @Test func givenAStrictRouterFirstThenItIsTheRequestURIAndTheTargetTheLastRoute() {
        var d = SIPDialog(callID: "c", localTag: "a", remoteTag: "b", remoteCSeq: 1,
                          routeSet: ["sip:strict.example.com", "sip:loose.example.com;lr"],
                          remoteTarget: "sip:bob@192.0.2.1", secure: false, localParty: "<sip:x@y>;tag=a", remoteParty: "<sip:bob@z>;tag=b")
        let m = d.request(method: "BYE")
        #expect(m.requestURI == "sip:strict.example.com")
        #expect(m.headers.filter { $0.name == "Route" }.map(\.value) == ["<sip:loose.example.com;lr>", "<sip:bob@192.0.2.1>"])
        #expect(d.nextHop == "sip:strict.example.com")
    }

    @Test func givenNoRouteSetThenOurRequestsGoToTheRemoteTarget() {
        var d = SIPDialog(callID: "c", localTag: "a", remoteTag: nil, remoteCSeq: 1, routeSet: [],
                          remoteTarget: "sip:bob@192.0.2.1:5070", secure: false, localParty: "<sip:x@y>;tag=a", remoteParty: "<sip:bob@z>")
        let m = d.request(method: "BYE")
        #expect(m.requestURI == "sip:bob@192.0.2.1:5070" && m["Route"] == nil)
        #expect(d.nextHop == "sip:bob@192.0.2.1:5070")
        // An RFC 2543 peer without a From tag: only requests without one match.
        #expect(d.classify(SIPDialogTests.request("BYE", cseq: 2, fromTag: nil, toTag: "a", callID: "c")) == .matches)
        #expect(d.classify(SIPDialogTests.request("BYE", cseq: 2, fromTag: "b", toTag: "a", callID: "c")) == .doesNotExist)
    }

    @Test func givenOnlySessionChangingMethodsThenTheyNeedThePeersSource() {
        #expect(["INVITE", "UPDATE", "INFO", "REFER", "NOTIFY"].allSatisfy(SIPDialog.changesSession))
        #expect(!["BYE", "ACK", "CANCEL", "OPTIONS"].contains(where: SIPDialog.changesSession))
    }

    @Test func givenASUBSCRIBEThroughAProxyThenItsNOTIFYsFollowTheRouteSet() throws {
        var subscribe = SIPDialogTests.request("SUBSCRIBE", cseq: 1, toTag: nil, contact: "<sip:phone@10.0.0.2:5062>")
        subscribe.append("Record-Route", "<sip:edge.example.com;lr>")
        subscribe.append("Event", "message-summary")
        var subscription = try #require(Subscription(subscribe: subscribe, localTag: "n1", expiresAt: 60_000))
        #expect(subscription.nextHop == "sip:edge.example.com;lr")
        let notify = subscription.notify(state: SubscriptionState(.active), contentType: "application/simple-message-summary",
                                         body: "", via: "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn", contact: "<sip:1001@127.0.0.1>",
                                         userAgent: "Parley")
        #expect(notify.requestURI == "sip:phone@10.0.0.2:5062")
        #expect(notify["Route"] == "<sip:edge.example.com;lr>")
    }
}
