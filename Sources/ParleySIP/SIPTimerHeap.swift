/// The timers of a transaction table: one deadline per key in a binary min-heap, so the
/// next deadline is read in O(1) and a timer is set or fired in O(log n), instead of a scan
/// of every transaction per message (each lingers up to 32 s, so a scan grows with the call
/// rate).
///
/// Setting a key's deadline again does not search the heap: the old item stays and is
/// recognized as stale by its generation when it reaches the top. Stale items are bounded:
/// the heap is rebuilt from the live deadlines when they outnumber them four to one.
/// Times are milliseconds on the table's clock; no I/O, no clock of its own.
public struct SIPTimerHeap<Key: Hashable> {
    struct Item {
        var deadline: Int64
        var key: Key
        var generation: UInt64
    }

    private var heap: [Item] = []
    private var live: [Key: (deadline: Int64, generation: UInt64)] = [:]
    private var generation: UInt64 = 0

    public init() {}

    /// Keys with a deadline.
    public var count: Int { live.count }

    /// The earliest deadline, nil when no timer is set.
    public var nextDeadline: Int64? { heap.first?.deadline }

    /// Sets `key`'s deadline (nil: none).
    public mutating func schedule(_ key: Key, at deadline: Int64?) {
        if let current = live[key], current.deadline == deadline { return }
        guard let deadline else {
            live[key] = nil
            dropStaleTop()
            return
        }
        generation &+= 1
        live[key] = (deadline, generation)
        push(Item(deadline: deadline, key: key, generation: generation))
        if heap.count > 4 * live.count + 64 { rebuild() }
        dropStaleTop()
    }

    /// Removes and returns the keys whose deadline is at or before `now`, earliest first.
    public mutating func popDue(now: Int64) -> [Key] {
        var due: [Key] = []
        while let top = heap.first, top.deadline <= now {
            popTop()
            if let current = live[top.key], current.generation == top.generation {
                live[top.key] = nil
                due.append(top.key)
            }
        }
        dropStaleTop()
        return due
    }

    // MARK: The heap

    private func isLive(_ item: Item) -> Bool { live[item.key]?.generation == item.generation }

    /// Keeps `nextDeadline` true: the top is always a live timer.
    private mutating func dropStaleTop() {
        while let top = heap.first, !isLive(top) { popTop() }
    }

    private mutating func rebuild() {
        heap = live.map { Item(deadline: $0.value.deadline, key: $0.key, generation: $0.value.generation) }
        for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
    }

    private mutating func push(_ item: Item) {
        heap.append(item)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].deadline < heap[parent].deadline else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func popTop() {
        guard !heap.isEmpty else { return }
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        if !heap.isEmpty { siftDown(0) }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let left = 2 * i + 1, right = left + 1
            var smallest = i
            if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
            if smallest == i { return }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }
}
