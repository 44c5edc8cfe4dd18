import Testing
@testable import ParleySIP

struct ReferProgressTests {
    let trying = SIPFrag("SIP/2.0 100 Trying\r\n")
    let ringing = SIPFrag("SIP/2.0 180 Ringing\r\n")
    let active = SubscriptionState("active;expires=60")
    let terminated = SubscriptionState("terminated;reason=noresource")

    @Test func givenA202AndProgressWhenTheFinalNOTIFYCarries200ThenTheTransferSucceeded() {
        var p = ReferProgress(now: 0, timeout: 30_000)
        #expect(p.referAnswered(status: 202) == nil)
        #expect(p.state == .accepted)
        #expect(p.notified(trying, subscription: active) == nil)
        #expect(p.notified(ringing, subscription: active) == nil)
        #expect(p.lastProvisional == 180)
        #expect(p.notified(SIPFrag("SIP/2.0 200 OK"), subscription: terminated) == .succeeded(status: 200))
        #expect(p.state == .finished)
        // Later NOTIFYs and the deadline change nothing: one outcome only.
        #expect(p.notified(SIPFrag("SIP/2.0 486 Busy Here"), subscription: terminated) == nil)
        #expect(p.tick(now: 40_000) == nil)
    }

    @Test func givenTheTargetRefusesThenTheTransferFailsWithItsStatus() {
        var p = ReferProgress(now: 0, timeout: 30_000)
        _ = p.referAnswered(status: 202)
        #expect(p.notified(SIPFrag("SIP/2.0 486 Busy Here\r\n"), subscription: terminated)
                == .failed(status: 486, reason: "transfer target answered 486 Busy Here"))
    }

    @Test func givenTheREFERIsRejectedOrTimesOutThenTheTransferFails() {
        var rejected = ReferProgress(now: 0, timeout: 30_000)
        #expect(rejected.referAnswered(status: 100) == nil)
        #expect(rejected.referAnswered(status: 603) == .failed(status: 603, reason: "REFER rejected with 603"))
        var lost = ReferProgress(now: 0, timeout: 30_000)
        #expect(lost.referAnswered(status: 408) == .failed(status: 408, reason: "REFER rejected with 408"))
    }

    @Test func givenNoFinalNOTIFYWhenTheDeadlinePassesThenTheTransferFailsWithoutStatus() {
        var p = ReferProgress(now: 1_000, timeout: 30_000)
        _ = p.referAnswered(status: 202)
        _ = p.notified(ringing, subscription: active)
        #expect(p.tick(now: 30_999) == nil)
        #expect(p.tick(now: 31_000) == .failed(status: nil, reason: "no final NOTIFY in time (last progress 180)"))
    }

    @Test func givenANOTIFYBeforeThe202ThenItCountsAndThe202ChangesNothing() {
        var p = ReferProgress(now: 0, timeout: 30_000)
        #expect(p.notified(SIPFrag("SIP/2.0 200 OK"), subscription: terminated) == .succeeded(status: 200))
        #expect(p.referAnswered(status: 202) == nil)
    }

    @Test func givenTheSubscriptionEndsWithoutAFinalStatusThenTheTransferFails() {
        var p = ReferProgress(now: 0, timeout: 30_000)
        _ = p.referAnswered(status: 202)
        #expect(p.notified(nil, subscription: SubscriptionState("terminated;reason=timeout"))
                == .failed(status: nil, reason: "subscription terminated (timeout) without a final status"))
    }
}

struct SIPFragTests {
    @Test func readsTheStatusLineAndIgnoresHeaders() {
        #expect(SIPFrag("SIP/2.0 180 Ringing\r\nContact: <sip:x@y>\r\n") == SIPFrag(status: 180, reason: "Ringing"))
        #expect(SIPFrag("SIP/2.0 200\r\n") == SIPFrag(status: 200, reason: ""))
        #expect(SIPFrag(status: 503, reason: "Service Unavailable").serialized == "SIP/2.0 503 Service Unavailable\r\n")
    }

    @Test func rejectsWhatIsNotAStatusLine() {
        for body in ["", "INVITE sip:a@b SIP/2.0", "SIP/2.0 20 OK", "SIP/2.0 999 Nope", "HTTP/1.1 200 OK", "SIP/2.0 abc"] {
            #expect(SIPFrag(body) == nil, "\(body)")
        }
    }
}

struct SubscriptionStateTests {
    @Test func parsesAndSerializesTheRFC6665Forms() {
        #expect(SubscriptionState("active;expires=3600") == SubscriptionState(.active, expires: 3600))
        #expect(SubscriptionState("Terminated ; reason=timeout") == SubscriptionState(.terminated, reason: "timeout"))
        #expect(SubscriptionState("pending")?.value == .pending)
        #expect(SubscriptionState("waiting;retry-after=5")?.value == .other("waiting"))
        #expect(SubscriptionState(.terminated, reason: "noresource").description == "terminated;reason=noresource")
        #expect(SubscriptionState(.active, expires: 60).description == "active;expires=60")
        #expect(SubscriptionState("") == nil)
        #expect(SubscriptionState("active;;") == nil)
    }
}
