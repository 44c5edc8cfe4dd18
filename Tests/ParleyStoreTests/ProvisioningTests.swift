import Foundation
import Testing
@testable import ParleyStore

@Suite("Store: mailboxes provisioned from the configuration")
struct ProvisioningTests {
    @Test("created with the configured PIN; a PIN changed by phone survives restarts; a changed configured PIN is applied again")
    func pinRule() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let key = StoreFixture.acme1001
        let box = Mailbox(key: key, name: "Alice", emails: ["alice@acme.example"])
        do {
            let store = try f.open()
            #expect(try await store.provision(box, pin: "1111", now: StoreFixture.t0) == .created)   // weak, but on purpose
            #expect(try await store.verifyPIN("1111", for: key, now: StoreFixture.t0) == .ok)
            #expect(try await store.provision(box, pin: "1111", now: StoreFixture.t0) == .unchanged)
            try await store.changePIN("80554", for: key)                 // the owner, by phone
        }
        do {   // restart: same file
            let store = try f.open()
            #expect(try await store.provision(box, pin: "1111", now: StoreFixture.t0) == .unchanged)
            #expect(try await store.verifyPIN("80554", for: key, now: StoreFixture.t0) == .ok)
            var renamed = box
            renamed.name = "Alice Martin"
            renamed.options.maxMessages = 7
            #expect(try await store.provision(renamed, pin: "1111", now: StoreFixture.t0) == .updated)
            #expect(try await store.mailbox(key) == renamed)
            #expect(try await store.verifyPIN("80554", for: key, now: StoreFixture.t0) == .ok)
            // The operator edits the PIN in the file: applied, and it unlocks the mailbox.
            for _ in 0..<5 { _ = try await store.verifyPIN("0000", for: key, now: StoreFixture.t0) }
            #expect(try await store.provision(renamed, pin: "24680", now: StoreFixture.t0) == .pinApplied)
            #expect(try await store.verifyPIN("24680", for: key, now: StoreFixture.t0) == .ok)
            // Known to this process: no scrypt check, nothing to do.
            #expect(try await store.provision(renamed, pin: "24680", knownPIN: "24680", now: StoreFixture.t0) == .unchanged)
        }
    }

    @Test("a mailbox made with the CLI and later named in the file takes the file's PIN once")
    func adoptedFromCLI() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try f.open()
        let box = Mailbox(key: StoreFixture.acme1002, name: "Bob")
        try await store.createMailbox(box, pin: "80554", now: StoreFixture.t0)
        #expect(try await store.provision(box, pin: "31415", now: StoreFixture.t0) == .pinApplied)
        #expect(try await store.verifyPIN("31415", for: box.key, now: StoreFixture.t0) == .ok)
        #expect(try await store.provision(box, pin: "31415", now: StoreFixture.t0) == .unchanged)
    }

    @Test("a PIN that is not 4-10 digits is refused before anything is written")
    func badPIN() async throws {
        let f = StoreFixture(); defer { f.cleanUp() }
        let store = try f.open()
        await #expect(throws: StoreError.self) { try await store.provision(Mailbox(key: StoreFixture.acme1001, name: ""), pin: "12a4", now: StoreFixture.t0) }
        #expect(try await store.mailbox(StoreFixture.acme1001) == nil)
    }
}
