import Testing
@testable import ParleyRTP

@Suite("RFC 4733 sender: one event as packets per 20 ms tick")
struct TelephoneEventSenderTests {
    typealias Packet = TelephoneEventSender.Packet

    /// All packets, tick by tick, until the sender finishes (and one tick more, which must be empty).
    func run(_ sender: inout TelephoneEventSender) -> [[Packet]] {
        var ticks: [[Packet]] = []
        while !sender.isFinished {
            let t = sender.tick()
            ticks.append([t.first, t.second].compactMap { $0 })
            if ticks.count > 100_000 { break }
        }
        #expect(sender.tick().count == 0)
        return ticks
    }

    func p(_ marker: Bool, _ ts: UInt32, _ event: UInt8, end: Bool, volume: UInt8 = 10, _ duration: UInt16) -> Packet {
        Packet(marker: marker, timestamp: ts, event: TelephoneEvent(event: event, end: end, volume: volume, duration: duration))
    }

    @Test("a 100 ms key: marker first, durations 160…640, then three end packets at 800, one per tick")
    func hundredMilliseconds() throws {
        var s = try #require(TelephoneEventSender(key: "5", startTimestamp: 8000, duration: 800))
        #expect(run(&s) == [
            [p(true, 8000, 5, end: false, 160)],
            [p(false, 8000, 5, end: false, 320)],
            [p(false, 8000, 5, end: false, 480)],
            [p(false, 8000, 5, end: false, 640)],
            [p(false, 8000, 5, end: true, 800)],
            [p(false, 8000, 5, end: true, 800)],
            [p(false, 8000, 5, end: true, 800)],
        ])
        #expect(s.endTimestamp == 8800)
    }

    @Test("a 9 s key is split into segments of 0xFFFF: the full one closes, the next starts at +0xFFFF")
    func nineSeconds() throws {
        let start: UInt32 = 0xFFFF_0000   // the second segment's timestamp wraps
        var s = try #require(TelephoneEventSender(key: "#", startTimestamp: start, duration: 72_000))
        let ticks = run(&s)
        #expect(ticks.count == 452)       // 450 ticks of event, two more end packets
        #expect(ticks[0] == [p(true, start, 11, end: false, 160)])
        #expect(ticks[408] == [p(false, start, 11, end: false, 65440)])
        #expect(ticks[409] == [p(false, start, 11, end: false, 0xFFFF), p(false, start &+ 0xFFFF, 11, end: false, 65)])
        #expect(ticks[410] == [p(false, start &+ 0xFFFF, 11, end: false, 225)])
        for t in ticks[449...] { #expect(t == [p(false, start &+ 0xFFFF, 11, end: true, 6465)]) }  // 72000 - 0xFFFF
        let all = ticks.flatMap { $0 }
        #expect(all.count == 453)
        #expect(all.filter(\.marker).count == 1)
        #expect(all.filter { $0.timestamp == start }.count == 410)
    }

    @Test("volume is carried and cut to 6 bits; a too-short duration still sends one interval")
    func volumeAndShortest() {
        var loud = TelephoneEventSender(event: 1, startTimestamp: 0, duration: 320, volume: 70)
        #expect(loud.tick().first?.event.volume == 63)
        var quiet = TelephoneEventSender(event: 1, startTimestamp: 0, duration: 0, volume: 5)
        #expect(run(&quiet) == [[p(true, 0, 1, end: true, volume: 5, 160)], [p(false, 0, 1, end: true, volume: 5, 160)], [p(false, 0, 1, end: true, volume: 5, 160)]])
        #expect(TelephoneEventSender(key: "x", startTimestamp: 0, duration: 800) == nil)
    }

    /// The digits the receiver reports for the packets, with some dropped or reordered.
    func received(_ packets: [Packet]) -> String {
        var r = TelephoneEventReceiver()
        return String(packets.compactMap { r.receive($0.event, timestamp: $0.timestamp) })
    }

    @Test("the receiver reports exactly one digit per sent event, also without the first packet",
          arguments: [UInt32(800), 1600, 72_000, 200_000])
    func receiverRoundTrip(duration: UInt32) throws {
        var s = try #require(TelephoneEventSender(key: "7", startTimestamp: 1000, duration: duration))
        let packets = run(&s).flatMap { $0 }
        #expect(received(packets) == "7")
        #expect(received(Array(packets.dropFirst())) == "7")
        #expect(received(Array(packets.dropFirst(3))) == "7")
        // A segment's first packet lost, and its closing packet arriving after the next one.
        if let close = packets.firstIndex(where: { $0.event.duration == 0xFFFF }) {
            var shuffled = packets
            shuffled.remove(at: close + 1)
            shuffled.swapAt(close, close + 1)
            #expect(received(shuffled) == "7")
        }
    }

    @Test("key after key, and the same key twice, are separate digits")
    func sequences() throws {
        var packets: [Packet] = []
        var ts: UInt32 = 0xFFFF_F000
        for (key, duration) in [("1", UInt32(800)), ("1", 1200), ("#", 72_000), ("#", 800), ("D", 160)] {
            var s = try #require(TelephoneEventSender(key: Character(key), startTimestamp: ts, duration: duration))
            packets += run(&s).flatMap { $0 }
            ts = s.endTimestamp &+ 800   // 100 ms pause
        }
        #expect(received(packets) == "11##D")
        // Without every event's first packet.
        var starts = Set<Int>()
        for (i, p) in packets.enumerated() where p.marker { starts.insert(i) }
        #expect(received(packets.enumerated().filter { !starts.contains($0.offset) }.map(\.element)) == "11##D")
    }
}
