import CParleyMediaIO
import Foundation
import NIOConcurrencyHelpers

/// A thread pinned to `cpu` (under SCHED_FIFO with `--realtime`) that calls `tick` at absolute
/// 20 ms deadlines (a periodic timerfd) until stopped, publishing its CPU time after each tick.
final class PacedThread: @unchecked Sendable {
    private let running = NIOLockedValueBox(true)
    private let cpuTime = NIOLockedValueBox<Int64>(0)
    private let done = ConditionLock(value: false)

    init(name: String, cpu: Int?, tick: @escaping () -> Void) {
        let thread = Thread { [running, cpuTime, done] in
            if let cpu { _ = parley_pin_current_thread(Int32(cpu)) }
            if let realtime { _ = parley_set_realtime(realtime) }
            let period: Int64 = 20_000_000
            let timer = parley_timerfd_periodic(parley_monotonic_ns() + period, period)
            let epoll = parley_epoll_create()
            _ = parley_epoll_add(epoll, timer, 0)
            var word: UInt64 = 0
            while running.withLockedValue({ $0 }) {
                guard parley_epoll_wait(epoll, &word, 1, 100) > 0, parley_read_counter(timer) > 0 else { continue }
                tick()
                let now = parley_thread_cpu_ns()
                cpuTime.withLockedValue { $0 = now }
            }
            close(timer)
            close(epoll)
            done.lock()
            done.unlock(withValue: true)
        }
        thread.name = name
        thread.start()
    }

    var cpuNanoseconds: Int64 { cpuTime.withLockedValue { $0 } }

    /// Stops the loop and waits until the thread has left it.
    func stop() {
        running.withLockedValue { $0 = false }
        done.lock(whenValue: true)
        done.unlock()
    }
}
