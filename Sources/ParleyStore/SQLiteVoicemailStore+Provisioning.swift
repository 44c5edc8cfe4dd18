import Foundation

/// What provisioning a mailbox from the configuration did.
public enum ProvisioningOutcome: String, Sendable, Equatable {
    /// The mailbox did not exist: created with the configured PIN.
    case created
    /// Name, addresses or options changed; the PIN was left alone.
    case updated
    /// The configured PIN differs from the one the configuration set last time: applied
    /// (name, addresses and options updated as well).
    case pinApplied
    case unchanged
}

extension SQLiteVoicemailStore {
    /// Creates or updates a mailbox from the configuration file.
    ///
    /// The PIN rule: the configured PIN is applied when the mailbox is created, and again
    /// only when the configured PIN differs from the one the configuration applied last
    /// (kept as a salted hash, `provisioned_pin`). A PIN the owner changed by phone (or an
    /// operator with `parley mailbox set-pin`) therefore survives restarts and reloads until
    /// someone edits the PIN in the file. The configured PIN needs only the format (4–10
    /// digits): an operator may provision a simple first PIN on purpose.
    ///
    /// `knownPIN` is the PIN this process already applied or verified for the mailbox: when it
    /// equals `pin`, the scrypt check (tens of ms) is skipped.
    public func provision(_ mailbox: Mailbox, pin: String, knownPIN: String? = nil, now: Date) async throws(StoreError) -> ProvisioningOutcome {
        try PINPolicy.checkFormat(pin)
        try mailbox.validate()
        guard let existing = try await database.mailbox(mailbox.key) else {
            let hash = try PINHash.make(pin: pin, costLog2: pinCostLog2)
            try await database.createMailbox(mailbox, pinHash: hash, now: now)
            try await database.setProvisionedPIN(hash, for: mailbox.key, applying: false)
            logger.info("voicemail mailbox created from the configuration", metadata: ["mailbox": "\(mailbox.key)"])
            return .created
        }
        var outcome = ProvisioningOutcome.unchanged
        if existing != mailbox {
            try await database.updateMailbox(mailbox)
            outcome = .updated
        }
        if knownPIN != pin {
            let provisioned = try await database.provisionedPINHash(mailbox.key)
            if !(provisioned?.verify(pin: pin) ?? false) {
                let hash = try PINHash.make(pin: pin, costLog2: pinCostLog2)
                try await database.setProvisionedPIN(hash, for: mailbox.key, applying: true)
                logger.notice("voicemail PIN set from the configuration (the configured PIN changed); lockout cleared",
                              metadata: ["mailbox": "\(mailbox.key)"])
                outcome = .pinApplied
            }
        }
        return outcome
    }
}
