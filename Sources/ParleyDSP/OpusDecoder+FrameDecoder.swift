/// Opus behind the receive-side interface every codec shares: a lost frame is recovered
/// from the next packet's in-band FEC when that packet has already arrived, else from
/// the decoder's own concealment.
extension OpusDecoder: FrameDecoder {
    public func decode(_ payload: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<Int16>) throws(CodecError) -> Int {
        guard payload.count > 0 else { throw .emptyPayload }
        do {
            return try decode(payload.assumingMemoryBound(to: UInt8.self), into: output)
        } catch {
            if case let .bufferTooSmall(_, needed, available) = error { throw .outputTooSmall(needed: needed, available: available) }
            throw .corrupt(codec: "opus", reason: error.description)
        }
    }

    public func conceal(samples: Int, next: UnsafeRawBufferPointer?, into output: UnsafeMutableBufferPointer<Int16>) -> Int {
        let n = min(samples, output.count)
        guard n > 0 else { return 0 }
        let target = UnsafeMutableBufferPointer(rebasing: output[0..<n])
        let produced = (try? decodeLost(next: next.map { $0.assumingMemoryBound(to: UInt8.self) }, into: target)) ?? 0
        // Opus conceals in whole frames; pad with silence if asked for more than it produced.
        for i in produced..<n { output[i] = 0 }
        return n
    }
}
