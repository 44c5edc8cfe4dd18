import ParleyTestSupport
import Testing
@testable import ParleySIP

struct SIPTimerHeapTests {
    @Test func givenDeadlinesThenTheyComeOutInOrderAndOnlyWhenDue() {
        var heap = SIPTimerHeap<String>()
        heap.schedule("c", at: 30)
        heap.schedule("a", at: 10)
        heap.schedule("b", at: 20)
        #expect(heap.nextDeadline == 10)
        #expect(heap.popDue(now: 9).isEmpty)
        #expect(heap.popDue(now: 20) == ["a", "b"])
        #expect(heap.nextDeadline == 30 && heap.count == 1)
    }

    @Test func givenARescheduledKeyThenOnlyItsLatestDeadlineCounts() {
        var heap = SIPTimerHeap<String>()
        heap.schedule("a", at: 10)
        heap.schedule("a", at: 50)
        heap.schedule("b", at: 20)
        #expect(heap.nextDeadline == 20)
        #expect(heap.popDue(now: 49) == ["b"])
        #expect(heap.popDue(now: 50) == ["a"])
        heap.schedule("c", at: 5)
        heap.schedule("c", at: nil)
        #expect(heap.nextDeadline == nil && heap.count == 0)
    }

    @Test func givenRandomSchedulingThenItAgreesWithAScanOfEveryKey() {
        // Seeded model check: the heap against a dictionary scanned in full.
        var rng = SeededRandom(seed: 3261)
        var heap = SIPTimerHeap<Int>()
        var model: [Int: Int64] = [:]
        var now: Int64 = 0
        for _ in 0..<20_000 {
            let key = Int(rng.next() % 300)
            switch rng.next() % 4 {
            case 0, 1:
                let deadline = now + Int64(rng.next() % 5_000)
                heap.schedule(key, at: deadline); model[key] = deadline
            case 2:
                heap.schedule(key, at: nil); model[key] = nil
            default:
                now += Int64(rng.next() % 300)
                let due = heap.popDue(now: now)
                let expected = model.filter { $0.value <= now }
                #expect(Set(due) == Set(expected.keys))
                #expect(due.count == expected.count)
                for k in due { model[k] = nil }
            }
            #expect(heap.nextDeadline == model.values.min())
            #expect(heap.count == model.count)
        }
    }
}
