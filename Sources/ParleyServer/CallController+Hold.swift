import NIOCore
import ParleySIP

/// The hold limit (`sip.max_hold`): a call whose media is on hold (either side `sendonly`
/// or `inactive`, CallController+Modify.swift) expects no RTP, so the media timeout cannot
/// tell a phone that vanished while holding from one that is still there. Such a call would
/// keep its licence, ports and flow for ever; after `max_hold` it is ended with a BYE.
/// Session timers (RFC 4028) prove the peer alive, so a call that has them is left to them.
///
/// Runs on the SIP event loop.
extension CallController {
    /// After a session change was answered with our direction `ours`.
    func holdChanged(_ call: Call, ours: SessionDescription.Direction) {
        guard ours != .sendrecv else {
            call.heldSince = nil
            call.holdTimer?.cancel()
            call.holdTimer = nil
            return
        }
        let now = nowMilliseconds
        let since = call.heldSince ?? now
        call.heldSince = since
        call.holdTimer?.cancel()
        call.holdTimer = nil
        // Refreshed by session timers: their expiry ends a vanished peer's call instead.
        guard call.sessionExpires == nil else { return }
        let left = max(0, since + config.sip.maxHoldMilliseconds - now)
        call.holdTimer = loop.scheduleTask(in: .milliseconds(left)) { [weak self] in
            guard let self, call.state == .confirmed, call.heldSince == since, call.sessionExpires == nil else { return }
            call.logger.notice("on hold longer than sip.max_hold; ending the call",
                               metadata: ["max_hold_ms": "\(self.config.sip.maxHoldMilliseconds)"])
            self.sendBye(call)
            self.end(call, cause: "max-hold")
        }
    }
}
