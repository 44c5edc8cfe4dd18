import Logging
import NIOConcurrencyHelpers

extension ParleyServer {
    /// Waits until every ended call's flow has returned and its recording is flushed and
    /// closed (a voicemail flow commits its message on hang-up), or the time is up; then the
    /// media threads may stop. A flow still running then is logged, not waited for (its task
    /// is not structured under this one, so a stuck flow cannot hold shutdown).
    static func settle(_ flows: [LegCallChannel], withinMilliseconds limit: Int64, logger: Logger) async {
        guard !flows.isEmpty else { return }
        let settled = await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
            let resumed = NIOLockedValueBox(false)
            let finish: @Sendable (Bool) -> Void = { value in
                let first = resumed.withLockedValue { was -> Bool in
                    defer { was = true }
                    return !was
                }
                if first { done.resume(returning: value) }
            }
            let waiter = Task {
                for flow in flows { await flow.settled() }
                finish(true)
            }
            Task {
                try? await Task.sleep(nanoseconds: UInt64(max(0, limit)) * 1_000_000)
                finish(false)
                waiter.cancel()
            }
        }
        if !settled {
            logger.warning("call flows still running at shutdown; not waited for", metadata: ["flows": "\(flows.count)", "waited_ms": "\(limit)"])
        }
    }
}
