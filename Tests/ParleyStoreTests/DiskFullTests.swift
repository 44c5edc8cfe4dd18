import Foundation
import Testing
@testable import ParleyStore

/// A real full disk: a 2 MiB tmpfs mounted for the test (needs root; skipped otherwise).
@Suite("Store: full disk", .enabled(if: canMountTmpfs(), "needs root to mount a tmpfs"))
struct DiskFullTests {
    @Test("writing audio on a full disk stops with a disk-full error and leaves no half message; earlier messages stay")
    func fullDisk() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        try FileManager.default.createDirectory(atPath: f.dataDirectory, withIntermediateDirectories: true)
        let mount = try runProcess("/bin/mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", f.dataDirectory])
        try #require(mount.status == 0, "\(mount.stderr)")
        defer { _ = try? runProcess("/bin/umount", ["-l", f.dataDirectory]) }

        let key = StoreFixture.acme1001
        let store = try await f.openWithMailboxes()
        let first = try await store.deposit(StoreFixture.tone(seconds: 1), into: key, envelope: StoreFixture.envelope())

        // Fill the file system, then give back 32 KiB: less than the next recording needs.
        let filler = "\(f.dataDirectory)/filler"
        let fd = open(filler, O_WRONLY | O_CREAT, 0o600)
        try #require(fd >= 0)
        let block = [UInt8](repeating: 7, count: 4096)
        while block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        let size = lseek(fd, 0, SEEK_END)
        #expect(ftruncate(fd, size - 32 * 1024) == 0)
        close(fd)

        await #expect(throws: StoreError.diskFull(path: "")) {
            do { _ = try await store.deposit(StoreFixture.tone(seconds: 10), into: key, envelope: StoreFixture.envelope()) }
            catch StoreError.diskFull { throw StoreError.diskFull(path: "") }
        }
        #expect(f.files(in: key) == ["\(first.id).wav"])
        #expect(try await store.messages(in: .new, of: key).map(\.id) == [first.id])
        // A forwarded copy on a full disk fails the same way.
        await #expect(throws: StoreError.self) {
            _ = try await store.forward(first.id, of: key, to: StoreFixture.acme1002, now: StoreFixture.t0)
            _ = try await store.forward(first.id, of: key, to: StoreFixture.acme1002, now: StoreFixture.t0)
            _ = try await store.forward(first.id, of: key, to: StoreFixture.acme1002, now: StoreFixture.t0)
            _ = try await store.forward(first.id, of: key, to: StoreFixture.acme1002, now: StoreFixture.t0)
        }
        for m in try await store.messages(in: .new, of: StoreFixture.acme1002) {
            #expect(FileManager.default.fileExists(atPath: try #require(store.audioFile(m.audioPath))))
        }
        #expect(f.files(in: StoreFixture.acme1002).allSatisfy { !$0.hasPrefix(".tmp-") })

        // Space back: deposits work again, nothing needed repair.
        try FileManager.default.removeItem(atPath: filler)
        _ = try await store.deposit(StoreFixture.tone(seconds: 10), into: key, envelope: StoreFixture.envelope())
        #expect(try await store.counts(key).new == 2)
        let report = try await store.reconcile()
        #expect(report.quarantined.isEmpty && report.flaggedDamaged.isEmpty)
    }
}

/// Whether this process may mount a tmpfs (root with the capability, as on the CI machine).
func canMountTmpfs() -> Bool {
    guard getuid() == 0 else { return false }
    let probe = NSTemporaryDirectory() + "parley-tmpfs-probe-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: probe) }
    guard let r = try? runProcess("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe]), r.status == 0 else { return false }
    _ = try? runProcess("/bin/umount", [probe])
    return true
}
