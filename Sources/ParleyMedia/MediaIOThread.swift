import CParleyMediaIO
import Foundation
import NIOConcurrencyHelpers

/// What a media thread drives every 20 ms: a leg, or (in the I/O comparison) a bare endpoint.
/// Every method is called on the thread that owns the endpoint.
public protocol MediaIOEndpoint: AnyObject {
    /// One datagram from one of the endpoint's sockets; `bytes` is valid only during the call.
    /// `arrivalMilliseconds` is the kernel's receive time on the media clock.
    func receive(_ bytes: UnsafeRawBufferPointer, from source: PeerAddress, arrivalMilliseconds: Int64, rtcpSocket: Bool)
    /// The 20 ms tick, after every socket has been read.
    func tick(nowMilliseconds: Int64)
    var isClosed: Bool { get }
    /// The thread is stopping: close the sockets.
    func closeOnThread()
}

/// Counters of one media thread, readable from any thread.
public struct MediaThreadStatistics: Sendable, Equatable {
    public var lateness = TickLateness()
    /// CPU time the thread has used (CLOCK_THREAD_CPUTIME_ID), as of its last tick.
    public var cpuNanoseconds: Int64 = 0
    /// Endpoints (legs) on the thread at its last tick.
    public var endpoints = 0
    public var datagramsReceived = 0
    /// Datagrams larger than a receive slot (2 KiB): dropped.
    public var truncatedDropped = 0
    public var sendErrors = 0
    public init() {}
}

/// One media I/O thread: an epoll loop woken by a timerfd at absolute 20 ms deadlines (and by
/// an eventfd for control tasks). Each tick reads every ready leg socket with one `recvmmsg`
/// into preallocated buffers (with the kernel's receive timestamps), then ticks every leg,
/// whose packets go out at once with one `sendto` each from the leg's own packet buffer.
/// Nothing is allocated per packet or per tick.
///
/// Leg sockets are in a second epoll set that is polled (timeout 0) once per tick, so packets
/// never wake the thread between ticks. `sendmmsg` batches per socket only, and each leg owns
/// its socket (the peer sees our port), so a tick costs one receive and one send call per leg.
public final class MediaIOThread: @unchecked Sendable {
    public static let periodNanoseconds: Int64 = 20_000_000
    public let name: String
    let clock: MediaClock
    let cpu: Int?
    let realtimePriority: Int32?

    private let statistics = NIOLockedValueBox(MediaThreadStatistics())
    private let tasks = NIOLockedValueBox<(running: Bool, queue: [() -> Void])>((false, []))
    private let finished = ConditionLock(value: false)
    private var thread: Thread?

    // Owned by the thread once started.
    private var epoll: Int32 = -1
    private var legsEpoll: Int32 = -1
    private var wake: Int32 = -1
    private var timer: Int32 = -1
    private var slots: [MediaIOEndpoint?] = []
    private var freeSlots: [Int] = []
    private var live: [MediaIOEndpoint] = []
    private var counters = MediaThreadStatistics()

    // Receive batch: `batch` slots of `slotBytes`, their source addresses and control data.
    private let batch = 32
    private let slotBytes = 2048
    private let controlBytes: Int
    private let data: UnsafeMutableRawPointer
    private let names: UnsafeMutablePointer<sockaddr_in6>
    private let controls: UnsafeMutableRawPointer
    private let iovecs: UnsafeMutablePointer<iovec>
    private let messages: UnsafeMutablePointer<parley_mmsghdr>
    private let ready: UnsafeMutablePointer<UInt64>
    private let readyCapacity = 256

    /// `cpu`: pin the thread to this CPU; `realtimePriority`: run it under SCHED_FIFO at this
    /// priority (1-99; needs CAP_SYS_NICE, else the thread stays at normal priority).
    public init(name: String, clock: MediaClock, cpu: Int? = nil, realtimePriority: Int32? = nil) {
        self.name = name
        self.clock = clock
        self.cpu = cpu
        self.realtimePriority = realtimePriority
        controlBytes = max(64, parley_timestamp_control_size())
        data = .allocate(byteCount: batch * slotBytes, alignment: 16)
        names = .allocate(capacity: batch)
        controls = .allocate(byteCount: batch * controlBytes, alignment: 16)
        iovecs = .allocate(capacity: batch)
        messages = .allocate(capacity: batch)
        ready = .allocate(capacity: readyCapacity)
        for i in 0..<batch {
            iovecs[i] = iovec(iov_base: data + i * slotBytes, iov_len: slotBytes)
            var m = parley_mmsghdr()
            m.msg_hdr.msg_name = UnsafeMutableRawPointer(names + i)
            m.msg_hdr.msg_iov = iovecs + i
            m.msg_hdr.msg_iovlen = 1
            m.msg_hdr.msg_control = controls + i * controlBytes
            messages[i] = m
        }
    }

    deinit {
        data.deallocate(); names.deallocate(); controls.deallocate()
        iovecs.deallocate(); messages.deallocate(); ready.deallocate()
    }

    /// Creates the descriptors and starts the thread.
    public func start() throws {
        let e = parley_epoll_create(), le = parley_epoll_create(), w = parley_eventfd()
        guard e >= 0, le >= 0, w >= 0 else {
            for fd in [e, le, w] where fd >= 0 { close(fd) }
            throw MediaIOError.system("epoll/eventfd", -min(e, le, w))
        }
        epoll = e; legsEpoll = le; wake = w
        _ = parley_epoll_add(epoll, wake, 1)
        tasks.withLockedValue { $0.running = true }
        let t = Thread { [self] in run() }
        t.name = name
        t.stackSize = 1 << 20
        thread = t
        t.start()
    }

    /// Stops the loop, closes every endpoint and waits until the thread has finished.
    public func stop() {
        let wasRunning = tasks.withLockedValue { s -> Bool in let r = s.running; s.running = false; return r }
        guard wasRunning else { return }
        parley_eventfd_signal(wake)
        finished.lock(whenValue: true)
        finished.unlock()
    }

    /// Runs `task` on the thread soon (before its next tick). False when the thread is not
    /// running: the task is dropped.
    @discardableResult
    public func execute(_ task: @escaping () -> Void) -> Bool {
        let queued = tasks.withLockedValue { s -> Bool in
            guard s.running else { return false }
            s.queue.append(task)
            return true
        }
        if queued { parley_eventfd_signal(wake) }
        return queued
    }

    /// A snapshot of the counters (the lateness histogram among them).
    public var currentStatistics: MediaThreadStatistics { statistics.withLockedValue { $0 } }

    /// On the thread: adds an endpoint and its sockets (`rtcp` true for a separate RTCP socket).
    public func register(_ endpoint: MediaIOEndpoint, sockets: [(fd: Int32, rtcp: Bool)]) throws {
        let slot: Int
        if let s = freeSlots.popLast() { slot = s; slots[s] = endpoint } else { slot = slots.count; slots.append(endpoint) }
        for (fd, rtcp) in sockets {
            let word = UInt64(UInt32(bitPattern: fd)) << 32 | UInt64(slot) << 1 | (rtcp ? 1 : 0)
            let r = parley_epoll_add(legsEpoll, fd, word)
            if r < 0 {
                for (other, _) in sockets { _ = parley_epoll_remove(legsEpoll, other) }
                slots[slot] = nil
                freeSlots.append(slot)
                throw MediaIOError.system("epoll_ctl", -r)
            }
        }
        live.append(endpoint)
    }

    /// One datagram to `peer` from `socket`, now. False when it could not be sent (counted).
    @discardableResult
    public func send(socket: Int32, _ bytes: UnsafeRawBufferPointer, to peer: PeerAddress) -> Bool {
        guard socket >= 0, peer.length > 0 else { return false }
        var peer = peer
        let r = withUnsafePointer(to: &peer.storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { parley_sendto(socket, bytes.baseAddress, bytes.count, $0, peer.length) }
        }
        if r < 0 { counters.sendErrors += 1; return false }
        return true
    }

    // MARK: The loop

    private func run() {
        if let cpu { _ = parley_pin_current_thread(Int32(cpu)) }
        if let realtimePriority { _ = parley_set_realtime(realtimePriority) }
        let period = MediaIOThread.periodNanoseconds
        var deadline = parley_monotonic_ns() + period
        timer = parley_timerfd_periodic(deadline, period)
        if timer >= 0 { _ = parley_epoll_add(epoll, timer, 0) }
        var words = [UInt64](repeating: 0, count: 4)
        while tasks.withLockedValue({ $0.running }) {
            let n = words.withUnsafeMutableBufferPointer { parley_epoll_wait(epoll, $0.baseAddress, 4, timer >= 0 ? -1 : 20) }
            if n < 0 && n != -EINTR { break }
            for i in 0..<max(0, Int(n)) {
                if words[i] == 1 {
                    _ = parley_read_counter(wake)
                    runTasks()
                } else {
                    let expirations = Int64(parley_read_counter(timer))
                    guard expirations > 0 else { continue }
                    // After a stall several deadlines have passed: one tick, measured against the latest.
                    deadline += (expirations - 1) * period
                    tick(deadline: deadline)
                    deadline += period
                }
            }
        }
        runTasks()
        for e in live { e.closeOnThread() }
        live.removeAll()
        slots.removeAll()
        for fd in [timer, legsEpoll, epoll, wake] where fd >= 0 { close(fd) }
        finished.lock()
        finished.unlock(withValue: true)
    }

    private func runTasks() {
        let queue = tasks.withLockedValue { s -> [() -> Void] in let q = s.queue; s.queue = []; return q }
        for task in queue { task() }
    }

    private func tick(deadline: Int64) {
        let started = parley_monotonic_ns()
        let late = max(0, started - deadline) / 1_000
        let now = clock.nowMilliseconds()
        receiveAll(now: now, realNow: parley_realtime_ns())
        var anyClosed = false
        for e in live {
            e.tick(nowMilliseconds: now)
            if e.isClosed { anyClosed = true }
        }
        if anyClosed { removeClosed() }
        counters.cpuNanoseconds = parley_thread_cpu_ns()
        counters.endpoints = live.count
        let snapshot = counters
        statistics.withLockedValue { s in
            s.lateness.record(microseconds: late)
            s.cpuNanoseconds = snapshot.cpuNanoseconds
            s.endpoints = snapshot.endpoints
            s.datagramsReceived = snapshot.datagramsReceived
            s.truncatedDropped = snapshot.truncatedDropped
            s.sendErrors = snapshot.sendErrors
        }
    }

    private func removeClosed() {
        live.removeAll { $0.isClosed }
        for i in slots.indices where slots[i]?.isClosed == true {
            slots[i] = nil
            freeSlots.append(i)
        }
    }

    /// Reads every ready socket once (at most one batch each, so a flood cannot stall the tick).
    private func receiveAll(now: Int64, realNow: Int64) {
        var rounds = slots.count / readyCapacity + 2
        while rounds > 0 {
            rounds -= 1
            let n = Int(parley_epoll_wait(legsEpoll, ready, Int32(readyCapacity), 0))
            guard n > 0 else { return }
            for i in 0..<n {
                let word = ready[i]
                let slot = Int((word >> 1) & 0x7FFF_FFFF)
                guard slot < slots.count, let endpoint = slots[slot], !endpoint.isClosed else { continue }
                drain(fd: Int32(bitPattern: UInt32(truncatingIfNeeded: word >> 32)), into: endpoint,
                      rtcp: word & 1 == 1, now: now, realNow: realNow)
            }
            if n < readyCapacity { return }
        }
    }

    private func drain(fd: Int32, into endpoint: MediaIOEndpoint, rtcp: Bool, now: Int64, realNow: Int64) {
        for i in 0..<batch {
            messages[i].msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_in6>.size)
            messages[i].msg_hdr.msg_controllen = controlBytes
            messages[i].msg_hdr.msg_flags = 0
        }
        let n = Int(parley_recvmmsg(fd, messages, UInt32(batch)))
        guard n > 0 else { return }
        counters.datagramsReceived += n
        var source = PeerAddress()
        for i in 0..<n {
            if messages[i].msg_hdr.msg_flags & Int32(MSG_TRUNC) != 0 {
                counters.truncatedDropped += 1
                continue
            }
            source.storage = names[i]
            source.length = messages[i].msg_hdr.msg_namelen
            let stamp = parley_receive_timestamp_ns(&messages[i].msg_hdr)
            // The kernel stamps on the wall clock; its age carries over to the media clock.
            let age = stamp > 0 ? min(max(0, realNow - stamp) / 1_000_000, 1_000) : 0
            endpoint.receive(UnsafeRawBufferPointer(start: data + i * slotBytes, count: Int(messages[i].msg_len)),
                             from: source, arrivalMilliseconds: now - age, rtcpSocket: rtcp)
        }
    }
}

public enum MediaIOError: Error, CustomStringConvertible {
    case system(String, Int32)
    case stopped

    public var description: String {
        switch self {
        case let .system(call, errno): return "\(call): \(String(cString: strerror(errno)))"
        case .stopped: return "the media engine is stopped"
        }
    }
}
