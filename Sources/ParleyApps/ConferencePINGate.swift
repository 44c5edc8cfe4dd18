/// What the server decided about one conference PIN guess (`ConferencePINGate`).
public enum ConferencePINVerdict: Sendable, Equatable {
    case accepted
    /// Wrong; the room takes the next guess after this long (zero: at once).
    case rejected(retryAfter: Duration)
    /// Too soon after the room's last wrong guess: not checked, and the caller must wait this long.
    case tooSoon(retryAfter: Duration)
    /// The room is locked out after too many wrong guesses: no PIN is taken, not even the right one.
    case lockedOut
}

/// Counts wrong PINs per room across every call, so that guessing a room's PIN takes time no
/// matter how many calls the guesser makes at once. The server's `ConferenceRegistry`
/// implements it; each guess is decided in one step (the check, the count and the lock are
/// atomic), so parallel callers cannot slip guesses past the back-off.
public protocol ConferencePINGate: Sendable {
    /// Decides one guess for `room` whose PIN comparison gave `correct`.
    func guess(room: String, correct: Bool) -> ConferencePINVerdict
}
