import ParleySIP

/// The calls the controller knows, kept by dialog (RFC 3261 §12: Call-ID, our tag, the
/// caller's tag), with an index by Call-ID for what arrives before or outside the dialog:
/// the INVITE's retransmissions and forks, CANCEL, and the internal handles (media events,
/// the admin API) that name a call by its Call-ID.
///
/// A request in a dialog is found by its tags alone, so a forged request with a live
/// Call-ID and guessed tags finds nothing. As UAS, one INVITE makes one call per Call-ID;
/// another initial INVITE on a live Call-ID is refused before it gets here
/// (`CallController.handleInvite`), so the index never holds two calls.
///
/// Confined to the SIP event loop, like the controller that owns it.
struct CallTable {
    private var byDialog: [SIPDialog.ID: CallController.Call] = [:]
    private var byCallID: [String: CallController.Call] = [:]

    /// The call whose dialog `request` names by its Call-ID and tags, if any.
    func call(inDialogOf request: SIPMessage) -> CallController.Call? {
        SIPDialog.ID(request: request).flatMap { byDialog[$0] }
    }

    /// The call the INVITE with this Call-ID made.
    subscript(callID callID: String) -> CallController.Call? { byCallID[callID] }

    mutating func insert(_ call: CallController.Call) {
        byDialog[call.dialog.id] = call
        byCallID[call.id] = call
    }

    /// Forgets `call` (and only it: a newer call on the same Call-ID stays).
    mutating func remove(_ call: CallController.Call) {
        if byDialog[call.dialog.id] === call { byDialog[call.dialog.id] = nil }
        if byCallID[call.id] === call { byCallID[call.id] = nil }
    }

    var values: Dictionary<String, CallController.Call>.Values { byCallID.values }
    var count: Int { byCallID.count }
}
