import CSpanDSP

/// In-band DTMF detection on 8 kHz linear audio, using spandsp's Goertzel receiver.
///
/// One detector per stream; not thread-safe (confine it to the stream's event loop).
/// Each key press is reported once, when the receiver has confirmed it.
public final class DTMFDetector {
    private var state: OpaquePointer?
    private var scratch = [CChar](repeating: 0, count: 32)

    /// Creates a detector with spandsp's telephony defaults (Q.24 limits).
    public init() {
        state = dtmf_rx_init(nil, nil, nil)
    }

    deinit {
        if let state { dtmf_rx_free(state) }
    }

    /// Feeds one block of 8 kHz audio and returns the digits confirmed in it, in order.
    /// Allocation-free unless digits were found (returns an empty string then).
    public func process(_ samples: UnsafeBufferPointer<Int16>) -> String {
        guard let state, let base = samples.baseAddress, samples.count > 0 else { return "" }
        _ = dtmf_rx(state, base, Int32(samples.count))
        let found = scratch.withUnsafeMutableBufferPointer { buf -> Int in
            Int(dtmf_rx_get(state, buf.baseAddress, Int32(buf.count - 1)))
        }
        guard found > 0 else { return "" }
        return String(decoding: scratch[0..<Int(found)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
