import Foundation
import Logging
import Testing
@testable import ParleyServer

/// The event log is written off the caller's thread and never traps: a full disk drops lines
/// and counts them.
struct EventLogWriteTests {
    @Test func givenAFileWhereEveryWriteFailsThenEmitCountsDropsAndTheProcessGoesOn() throws {
        // /dev/full answers every write(2) with ENOSPC, like a full disk.
        let log = try EventLog(path: "/dev/full", logger: Logger(label: "test"))
        final class Count: @unchecked Sendable { let lock = NSLock(); var n = 0 }
        let heard = Count()
        _ = log.subscribe { _ in heard.lock.lock(); heard.n += 1; heard.lock.unlock() }
        for i in 0..<200 { log.emit(CallEvent("dtmf", callID: "c\(i)", [("digit", "5")])) }
        log.flush()
        #expect(log.droppedCount == 200)
        heard.lock.lock()
        #expect(heard.n == 200, "subscribers still hear every event")
        heard.lock.unlock()
        log.close()
        log.emit(CallEvent("after.close", callID: "c"))
        #expect(log.droppedCount == 200, "after close, events go to the log only")
    }

    @Test func givenAWritableFileThenEveryLineIsWrittenWholeAndInOrder() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("events-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = try EventLog(path: path, logger: Logger(label: "test"))
        for i in 0..<500 { log.emit(CallEvent("n", callID: "c", [("i", .int(i))])) }
        log.close()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 500)
        #expect(lines.enumerated().allSatisfy { $0.element.hasSuffix("\"i\":\($0.offset)}") })
        #expect(log.droppedCount == 0)
    }

    @Test func givenMoreLinesThanTheQueueHoldsThenTheExcessIsDroppedNotBlocked() throws {
        // A FIFO nobody reads: the writer blocks in write(2) once the pipe is full, so the
        // bounded queue fills and emit must drop instead of waiting.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fifo-\(UUID().uuidString)").path
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        let reader = open(path, O_RDONLY | O_NONBLOCK)  // so the writer's open does not block
        #expect(reader >= 0)
        let log = try EventLog(path: path, logger: Logger(label: "test"), queueCapacity: 8)
        let big = String(repeating: "x", count: 8192)
        for _ in 0..<200 { log.emit(CallEvent("big", callID: "c", [("pad", .string(big))])) }
        #expect(log.droppedCount > 0, "the queue is bounded")
        // A reader drains the pipe: the writer finishes, and close waits for it.
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = fcntl(reader, F_SETFL, 0)
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while read(reader, &buffer, buffer.count) > 0 {}
            drained.signal()
        }
        log.close()
        drained.wait()
        close(reader)
    }
}
