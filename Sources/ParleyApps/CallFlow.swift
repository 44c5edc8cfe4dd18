import Foundation

/// Why a flow step ended without its normal result.
public enum CallFlowError: Error, Equatable, CustomStringConvertible {
    /// The caller hung up (or the call ended); the flow should return.
    case hungUp
    case channel(CallChannelError)

    public var description: String {
        switch self {
        case .hungUp: return "the call has ended"
        case let .channel(e): return e.description
        }
    }
}

/// How a recording ended.
public enum RecordingEnd: Sendable, Equatable {
    case terminator(Character)
    case silence
    case maxLength
    case hangup
    case failed(String)
}

/// A finished recording.
public struct Recording: Sendable, Equatable {
    public var path: String
    public var durationMilliseconds: Int
    public var endedBy: RecordingEnd
}

/// The call-flow API: what menus, voicemail and conference entry are written in.
///
/// One `CallFlow` per call, used by that call's one task (it is not shared between
/// tasks). Every wait ends early with `CallFlowError.hungUp` when the caller hangs up or
/// the task is cancelled. Keys pressed while no one is collecting are kept in order
/// (type-ahead) and consumed by the next `collect`/`playAndCollect`.
///
/// Time comes from the injected `clock`, so tests advance time instead of sleeping.
public final class CallFlow {
    enum Input: Sendable {
        case channel(CallChannelEvent)
        case timer(UInt64)
    }

    public let channel: any CallChannel
    public let clock: any Clock<Duration>
    private var iterator: AsyncStream<Input>.AsyncIterator
    private let inputs: AsyncStream<Input>.Continuation
    private let forwarder: Task<Void, Never>
    private var timerTask: Task<Void, Never>?
    private var timerGeneration: UInt64 = 0
    private var requestID = 0
    /// Keys pressed and not yet collected, oldest first.
    public internal(set) var typeAhead: [Character] = []
    public private(set) var isHungUp = false

    public init(channel: any CallChannel, clock: any Clock<Duration> = ContinuousClock()) {
        self.channel = channel
        self.clock = clock
        let (stream, continuation) = AsyncStream<Input>.makeStream()
        iterator = stream.makeAsyncIterator()
        inputs = continuation
        let events = channel.events
        // Channel events and timer expiries meet in one stream, so every wait is one loop.
        forwarder = Task {
            for await event in events { continuation.yield(.channel(event)) }
            continuation.yield(.channel(.hangup))
        }
    }

    deinit {
        forwarder.cancel()
        timerTask?.cancel()
        inputs.finish()
    }

    // MARK: Events and timers

    /// The next input; digits that nobody waits for are still returned (callers decide).
    func next() async throws(CallFlowError) -> Input {
        guard !isHungUp else { throw .hungUp }
        guard !Task.isCancelled, let input = await iterator.next(), !Task.isCancelled else {
            isHungUp = true
            throw .hungUp
        }
        if case .channel(.hangup) = input {
            isHungUp = true
            throw .hungUp
        }
        return input
    }

    /// Arms the one timer (re-arming replaces it); returns its generation.
    func arm(_ duration: Duration) -> UInt64 {
        timerTask?.cancel()
        timerGeneration += 1
        let generation = timerGeneration
        let clock = self.clock
        let inputs = self.inputs
        timerTask = Task {
            do {
                try await clock.sleep(for: duration)
                inputs.yield(.timer(generation))
            } catch {}
        }
        return generation
    }

    func disarm() {
        timerTask?.cancel()
        timerTask = nil
        timerGeneration += 1
    }

    func nextID() -> Int {
        requestID += 1
        return requestID
    }

    // MARK: Prompts

    /// Plays the prompts to their end. Keys pressed meanwhile do not interrupt; they are kept
    /// for the next collect (type-ahead).
    public func play(_ prompts: [String]) async throws(CallFlowError) {
        guard !prompts.isEmpty else { return }
        let id = nextID()
        do { try channel.play(prompts, id: id) } catch { throw .channel(error) }
        while true {
            switch try await next() {
            case let .channel(.digit(d)): typeAhead.append(d)
            case let .channel(.playbackFinished(done)) where done == id: return
            default: continue
            }
        }
    }

    public func play(_ prompts: String...) async throws(CallFlowError) { try await play(prompts) }

    /// Plays the prompts and collects keys, with barge-in: the first key stops the prompts.
    /// If keys were typed ahead, the prompts are not played at all. `timeout` counts from the
    /// end of the prompts; see `collect` for the rest.
    public func playAndCollect(_ prompts: [String], max: Int, timeout: Duration, interDigitTimeout: Duration,
                               terminator: Character? = "#", isComplete: ((String) -> Bool)? = nil) async throws(CallFlowError) -> String {
        if typeAhead.isEmpty, !prompts.isEmpty {
            let id = nextID()
            do { try channel.play(prompts, id: id) } catch { throw .channel(error) }
            waiting: while true {
                switch try await next() {
                case let .channel(.digit(d)):
                    channel.stopPlayback()
                    typeAhead.append(d)
                    break waiting
                case let .channel(.playbackFinished(done)) where done == id: break waiting
                default: continue
                }
            }
        }
        return try await collect(max: max, timeout: timeout, interDigitTimeout: interDigitTimeout,
                                 terminator: terminator, isComplete: isComplete)
    }

    /// Collects up to `max` keys. Waits `timeout` for the first key and `interDigitTimeout`
    /// between keys; returns what was typed when a wait runs out (possibly ""), at `max` keys,
    /// at the `terminator` (not included), or as soon as `isComplete` says the keys so far are
    /// a whole answer. Keys beyond the answer stay typed ahead.
    public func collect(max: Int, timeout: Duration, interDigitTimeout: Duration, terminator: Character? = "#",
                        isComplete: ((String) -> Bool)? = nil) async throws(CallFlowError) -> String {
        var digits = ""
        func take(_ d: Character) -> Bool {
            if d == terminator { return true }
            digits.append(d)
            return digits.count >= max || (isComplete?(digits) ?? false)
        }
        while !typeAhead.isEmpty {
            if take(typeAhead.removeFirst()) { return digits }
        }
        var generation = arm(digits.isEmpty ? timeout : interDigitTimeout)
        defer { disarm() }
        while true {
            switch try await next() {
            case let .channel(.digit(d)):
                if take(d) { return digits }
                generation = arm(interDigitTimeout)
            case let .timer(g) where g == generation:
                return digits
            default: continue
            }
        }
    }

    /// Waits `duration` (keys pressed meanwhile are typed ahead).
    public func pause(_ duration: Duration) async throws(CallFlowError) {
        let generation = arm(duration)
        defer { disarm() }
        while true {
            switch try await next() {
            case let .channel(.digit(d)): typeAhead.append(d)
            case let .timer(g) where g == generation: return
            default: continue
            }
        }
    }

    /// Plays the prompts; a key of `keys` stops them at once and is returned (a voicemail
    /// greeting skipped with `#`). Other keys are typed ahead. Nil when the prompts played out.
    public func play(_ prompts: [String], stoppingOn keys: Set<Character>) async throws(CallFlowError) -> Character? {
        if let i = typeAhead.firstIndex(where: keys.contains) { return typeAhead.remove(at: i) }
        guard !prompts.isEmpty else { return nil }
        let id = nextID()
        do { try channel.play(prompts, id: id) } catch { throw .channel(error) }
        while true {
            switch try await next() {
            case let .channel(.digit(d)) where keys.contains(d):
                channel.stopPlayback()
                return d
            case let .channel(.digit(d)): typeAhead.append(d)
            case let .channel(.playbackFinished(done)) where done == id: return nil
            default: continue
            }
        }
    }

    /// Drops keys typed ahead (e.g. before asking for a PIN).
    public func clearTypeAhead() { typeAhead.removeAll() }

    // MARK: Recording

    /// Records the caller to `path` (8 kHz WAV) until a terminator key, `silence` without a
    /// break, `maxLength`, or hang-up. A hang-up returns the recording (ended by `.hangup`)
    /// instead of throwing, so a message left by hanging up is kept. A file that cannot be
    /// created or written (full disk), whether at the start, during or at the close, ends it
    /// `.failed`: the flow tells the caller and keeps nothing.
    public func record(to path: String, maxLength: Duration, silence: Duration? = nil,
                       terminators: Set<Character> = ["#"]) async throws(CallFlowError) -> Recording {
        typeAhead.removeAll()
        let id = nextID()
        let silenceMs = silence.map { Int($0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000) }
        do { try channel.startRecording(to: path, id: id, silenceMilliseconds: silenceMs) } catch {
            return Recording(path: path, durationMilliseconds: 0, endedBy: .failed(error.description))
        }
        let generation = arm(maxLength)
        defer { disarm() }
        var end: RecordingEnd
        waiting: while true {
            let input: Input
            do { input = try await next() } catch {
                end = .hangup
                break waiting
            }
            switch input {
            case let .channel(.digit(d)) where terminators.contains(d):
                end = .terminator(d)
                break waiting
            case let .channel(.recordingSilence(r)) where r == id:
                end = .silence
                break waiting
            case let .channel(.recordingFailed(r, reason)) where r == id:
                end = .failed(reason)
                break waiting
            case let .timer(g) where g == generation:
                end = .maxLength
                break waiting
            default: continue
            }
        }
        let info = await channel.stopRecording(id: id)
        if let failure = info.failure {
            if case .failed = end {} else { end = .failed(failure) }
        }
        return Recording(path: path, durationMilliseconds: info.durationMilliseconds, endedBy: end)
    }

    // MARK: Call control

    /// Blind transfer to a SIP URI. On success the call is leaving: the flow should return.
    public func transfer(to target: String) async throws(CallFlowError) -> TransferResult {
        guard !isHungUp else { throw .hungUp }
        return await channel.transfer(to: target)
    }

    /// Ends the call.
    public func hangup() {
        guard !isHungUp else { return }
        isHungUp = true
        disarm()
        channel.hangup()
    }
}
