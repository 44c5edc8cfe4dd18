/// Merges key presses from RFC 4733, in-band detection and SIP INFO so each press is
/// reported once: a key already reported by one source is not reported again by a
/// different source within `window` (milliseconds of media time).
public struct DTMFDeduplicator: Sendable {
    public var windowMilliseconds: Int64
    private var last: (digit: Character, source: DTMFSource, at: Int64)?

    public init(windowMilliseconds: Int64 = 400) { self.windowMilliseconds = windowMilliseconds }

    /// - Parameter now: milliseconds on any monotonic clock.
    /// - Returns: true when the press should be reported.
    public mutating func accept(_ digit: Character, source: DTMFSource, now: Int64) -> Bool {
        if let l = last, l.digit == digit, l.source != source, now - l.at < windowMilliseconds {
            return false
        }
        last = (digit, source, now)
        return true
    }
}
