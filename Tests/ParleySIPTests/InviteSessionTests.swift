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

    // MARK: Timers (RFC 4028, the hold limit), on a clock passed in

    @Test func givenThePeerRefreshesThenTheSessionExpiresAtTheIntervalLessAThirdUnlessRefreshed() {
        var s = InviteSession()
        s.acknowledged()
        s.sessionTimerAgreed(.init(interval: 90, refresher: .peer), now: 0)
        // §10: 90 − min(32, 30) = 60 s.
        #expect(s.nextDeadline == 60_000)
        #expect(s.due(now: 59_999) == nil)
        s.sessionRefreshed(now: 50_000)
        #expect(s.nextDeadline == 110_000 && s.due(now: 60_000) == nil)
        #expect(s.due(now: 110_000) == .sessionExpired)
        #expect(s.due(now: 110_001) == nil && s.nextDeadline == nil, "reported once")
    }

    @Test func givenWeRefreshThenARefreshIsDueAtHalfTheIntervalAndARetryCanComeSooner() {
        var s = InviteSession()
        s.acknowledged()
        s.sessionTimerAgreed(.init(interval: 1800, refresher: .us), now: 1_000)
        #expect(s.nextDeadline == 901_000)
        #expect(s.due(now: 901_000) == .refresh)
        s.retryRefresh(at: 902_500)
        #expect(s.nextDeadline == 902_500 && s.due(now: 902_500) == .refresh)
        s.sessionRefreshed(now: 903_000)
        #expect(s.nextDeadline == 1_803_000)
    }

    @Test func givenAHoldWithoutSessionTimersThenItEndsAfterTheLimitAndAResumeStopsIt() {
        var s = InviteSession(maxHoldMilliseconds: 7_200_000)
        s.acknowledged()
        s.holdChanged(held: true, now: 10_000)
        s.holdChanged(held: true, now: 20_000)
        #expect(s.nextDeadline == 7_210_000, "a second hold offer does not restart the limit")
        s.holdChanged(held: false, now: 30_000)
        #expect(s.nextDeadline == nil && s.due(now: 9_000_000) == nil)
        s.holdChanged(held: true, now: 40_000)
        #expect(s.due(now: 7_239_999) == nil)
        #expect(s.due(now: 7_240_000) == .holdLimitReached)
        #expect(s.due(now: 7_240_001) == nil)
    }

    @Test func givenSessionTimersThenAHoldHasNoLimitAndTerminationStopsEveryTimer() {
        var s = InviteSession(maxHoldMilliseconds: 1_000)
        s.acknowledged()
        s.sessionTimerAgreed(.init(interval: 90, refresher: .peer), now: 0)
        s.holdChanged(held: true, now: 0)
        #expect(s.nextDeadline == 60_000, "the peer's refreshes prove it alive")
        #expect(s.due(now: 5_000) == nil)
        s.terminate()
        #expect(s.nextDeadline == nil && s.due(now: 100_000) == nil)
    }
}
