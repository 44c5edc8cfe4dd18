import Testing
@testable import ParleySIP

/// One session change at a time (RFC 3261 §14, RFC 3311 §5.2), with time passed in.
struct InviteSessionTests {
    static let pending = InviteSession.Decision.reject(status: 491, reason: "Request Pending", retryAfterSeconds: 1)

    @Test func givenNoACKYetThenAReINVITEGets491AndAnUPDATEProceeds() {
        var s = InviteSession()
        let reinvite = s.remoteChange(reinvite: true, now: 0)
        let update = s.remoteChange(reinvite: false, now: 0)
        #expect(reinvite == Self.pending && update == .proceed)
        s.changeFinished()
        #expect(s.state == .early, "an UPDATE answered before the ACK leaves the session unacknowledged")
        s.acknowledged()
        #expect(s.state == .confirmed)
    }

    @Test func givenAChangeInProgressThenASecondOverlappingOneGets491() {
        var s = InviteSession()
        s.acknowledged()
        let first = s.remoteChange(reinvite: true, now: 1_000)
        #expect(first == .proceed && s.state == .changing(remote: true, since: 1_000))
        let second = s.remoteChange(reinvite: true, now: 1_010)
        let update = s.remoteChange(reinvite: false, now: 1_020)
        let ours = s.localChange(now: 1_030)
        #expect(second == Self.pending && update == Self.pending)
        #expect(!ours, "our refresh waits for the caller's change")
        s.changeFinished()
        let next = s.remoteChange(reinvite: true, now: 2_000)
        #expect(next == .proceed)
    }

    @Test func givenOurReINVITEOutThenTheCallersCrossingOneGets491() {
        var s = InviteSession()
        let beforeACK = s.localChange(now: 0)
        #expect(!beforeACK, "not before the ACK")
        s.acknowledged()
        let ours = s.localChange(now: 10)
        let crossing = s.remoteChange(reinvite: true, now: 20)
        #expect(ours && crossing == Self.pending)
        s.changeFinished()
        #expect(s.state == .confirmed)
    }

    @Test func givenAChangeThatNeverFinishesThenItIsReleasedAfter64T1() {
        var s = InviteSession()
        s.acknowledged()
        let first = s.remoteChange(reinvite: true, now: 0)
        let stillPending = s.remoteChange(reinvite: true, now: 31_999)
        let released = s.remoteChange(reinvite: true, now: 32_000)
        #expect(first == .proceed && stillPending == Self.pending && released == .proceed)
    }

    @Test func givenTheSessionEndedThenChangesGet481() {
        var s = InviteSession()
        s.acknowledged()
        s.terminate()
        let change = s.remoteChange(reinvite: false, now: 0)
        let ours = s.localChange(now: 0)
        #expect(change == .reject(status: 481, reason: "Call/Transaction Does Not Exist", retryAfterSeconds: nil) && !ours)
        s.changeFinished()
        #expect(s.state == .terminated)
    }
}
