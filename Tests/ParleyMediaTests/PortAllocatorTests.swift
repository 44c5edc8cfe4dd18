import Testing
@testable import ParleyMedia

struct PortAllocatorTests {
    @Test func givenASeedThenPortsAreEvenInRangeUniqueAndReproducible() {
        let a = PortAllocator(range: 20_001...20_199, seed: 7), b = PortAllocator(range: 20_001...20_199, seed: 7)
        let first = (0..<a.capacity).compactMap { _ in a.allocate() }
        #expect(first == (0..<b.capacity).compactMap { _ in b.allocate() })
        #expect(first.count == 99 && Set(first).count == 99)
        #expect(first.allSatisfy { $0 % 2 == 0 && (20_002...20_198).contains($0) })
        #expect(a.allocate() == nil, "exhausted")
        // Not handed out in order: the next call's port cannot be guessed from the last.
        #expect(first != first.sorted())
        a.release(first[10])
        #expect(a.allocate() == first[10])
    }

    @Test func givenTwoSeedsThenTheFirstPortsDiffer() {
        let ports = (1...8).compactMap { PortAllocator(range: 30_000...39_999, seed: UInt64($0)).allocate() }
        #expect(Set(ports).count > 4)
    }

    @Test func givenASinglePortRangeThenItIsHandedOutOnce() {
        let p = PortAllocator(range: 40_000...40_001)
        #expect(p.capacity == 1)
        #expect(p.allocate() == 40_000)
        #expect(p.allocate() == nil)
    }
}
