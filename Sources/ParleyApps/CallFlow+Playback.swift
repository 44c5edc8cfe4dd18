// No `import Foundation` here: with it in scope, Swift 6.3 does not open `any Clock<Duration>`
// for the generic `stopwatch` below ("cannot conform to 'Clock'").

/// How playing an audio file ended.
public enum PlaybackOutcome: Sendable, Equatable {
    /// Played to its end.
    case finished
    /// A key stopped it (barge-in) `position` into the file.
    case interrupted(key: Character, position: Duration)
}

extension CallFlow {
    /// Plays an audio file (a stored message or greeting) from `offset`, stopping at the first
    /// key (barge-in; the key is returned, not typed ahead). A key typed ahead stops it before
    /// it starts (position = `offset`). The position is measured on the flow's clock from the
    /// moment the file was queued: good to a frame or two, enough for 5-second skips.
    ///
    /// Throws `.channel(.audioUnavailable)` when the file is missing, empty or unreadable.
    public func playFile(_ path: String, from offset: Duration = .zero) async throws(CallFlowError) -> PlaybackOutcome {
        if !typeAhead.isEmpty { return .interrupted(key: typeAhead.removeFirst(), position: offset) }
        let id = nextID()
        let elapsed = stopwatch(clock)
        do { try channel.playFile(path, offsetMilliseconds: Self.milliseconds(offset), id: id) } catch { throw .channel(error) }
        while true {
            switch try await next() {
            case let .channel(.digit(d)):
                channel.stopPlayback()
                return .interrupted(key: d, position: offset + elapsed())
            case let .channel(.playbackFinished(done)) where done == id:
                return .finished
            default: continue
            }
        }
    }

    /// Whole milliseconds of a duration (negative ones are 0).
    static func milliseconds(_ d: Duration) -> Int {
        let c = d.components
        return max(0, Int(c.seconds) * 1000 + Int(c.attoseconds / 1_000_000_000_000_000))
    }
}

/// Time since the call, on `clock` (opens the existential so `now` can be subtracted).
private func stopwatch<C: Clock<Duration>>(_ clock: C) -> () -> Duration {
    let start = clock.now
    return { start.duration(to: clock.now) }
}

extension CallFlow {
    /// Plays prompts with barge-in and no wait afterwards: returns the key that stopped them
    /// (or one typed ahead, in which case nothing is played), nil when they played to the end.
    public func playInterruptible(_ prompts: [String]) async throws(CallFlowError) -> Character? {
        if !typeAhead.isEmpty { return typeAhead.removeFirst() }
        guard !prompts.isEmpty else { return nil }
        let id = nextID()
        do { try channel.play(prompts, id: id) } catch { throw .channel(error) }
        while true {
            switch try await next() {
            case let .channel(.digit(d)):
                channel.stopPlayback()
                return d
            case let .channel(.playbackFinished(done)) where done == id:
                return nil
            default: continue
            }
        }
    }
}
