/// A message's folder. `deleted` is "deleted, pending purge": the caller can still undelete
/// until the folder is purged (at hang-up, by the retrieval flow).
public enum Folder: String, Sendable, CaseIterable, Codable {
    case new, old, saved, deleted
}

/// Where a message's notification email stands.
public enum EmailState: String, Sendable, CaseIterable, Codable {
    /// No email is due (no address, or not sent yet by design).
    case none
    case pending
    case sent
    case failed
}

/// Messages per folder, urgent ones counted apart: what "you have N new messages" and the
/// RFC 3842 message-summary (`Voice-Message: new/old (urgent-new/urgent-old)`) need.
public struct FolderCounts: Sendable, Equatable {
    public var new = 0
    public var old = 0
    public var saved = 0
    public var deleted = 0
    public var urgentNew = 0
    public var urgentOld = 0
    public var urgentSaved = 0

    public init() {}

    /// Messages that count against the mailbox's `maxMessages` (deleted-pending do not).
    public var kept: Int { new + old + saved }
}
