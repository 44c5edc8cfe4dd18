/// A mailbox's message summary, the body of a `message-summary` NOTIFY
/// (RFC 3842 §5.2, `application/simple-message-summary`):
///
/// ```
/// Messages-Waiting: yes
/// Message-Account: sip:1001@pbx.example.com
/// Voice-Message: 2/8 (1/0)
/// ```
///
/// `Voice-Message: new/old (urgent new/urgent old)`; the urgent part is optional. Only the
/// voice-message class is kept; other message-context classes and extra headers of a
/// received summary are ignored.
public struct MessageSummary: Sendable, Equatable {
    public var messagesWaiting: Bool
    /// The account the summary is for (a SIP URI); optional in the body.
    public var messageAccount: String?
    public var newMessages: Int
    public var oldMessages: Int
    public var urgentNew: Int
    public var urgentOld: Int

    /// `messagesWaiting` defaults to "there are new messages".
    public init(newMessages: Int = 0, oldMessages: Int = 0, urgentNew: Int = 0, urgentOld: Int = 0,
                messagesWaiting: Bool? = nil, messageAccount: String? = nil) {
        self.newMessages = max(0, newMessages); self.oldMessages = max(0, oldMessages)
        self.urgentNew = max(0, urgentNew); self.urgentOld = max(0, urgentOld)
        self.messagesWaiting = messagesWaiting ?? (newMessages > 0)
        self.messageAccount = messageAccount
    }

    public static let contentType = "application/simple-message-summary"

    /// The body, CRLF line ends.
    public var serialized: String {
        var text = "Messages-Waiting: \(messagesWaiting ? "yes" : "no")\r\n"
        if let messageAccount { text += "Message-Account: \(messageAccount)\r\n" }
        text += "Voice-Message: \(newMessages)/\(oldMessages) (\(urgentNew)/\(urgentOld))\r\n"
        return text
    }
}

public enum MessageSummaryError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingMessagesWaiting
    case invalidLine(String)

    public var description: String {
        switch self {
        case .missingMessagesWaiting: return "no Messages-Waiting line (RFC 3842 §5.2)"
        case let .invalidLine(line): return "not a valid summary line: \(line)"
        }
    }
}

extension MessageSummary {
    /// Parses a received body; counts absent from it are zero.
    public init(parsing body: String) throws(MessageSummaryError) {
        var waiting: Bool?
        var account: String?
        var counts = (0, 0, 0, 0)
        for raw in body.split(whereSeparator: { $0.isNewline }) {
            let line = String(raw).trimmingSIPWhitespace()
            if line.isEmpty { continue }
            guard let colon = line.firstIndex(of: ":") else { throw .invalidLine(line) }
            let name = line[..<colon].trimmingSIPWhitespace().lowercased()
            let value = line[line.index(after: colon)...].trimmingSIPWhitespace()
            switch name {
            case "messages-waiting":
                switch value.lowercased() {
                case "yes": waiting = true
                case "no": waiting = false
                default: throw .invalidLine(line)
                }
            case "message-account": account = value
            case "voice-message":
                guard let parsed = MessageSummary.counts(value) else { throw .invalidLine(line) }
                counts = parsed
            default: continue
            }
        }
        guard let waiting else { throw .missingMessagesWaiting }
        self.init(newMessages: counts.0, oldMessages: counts.1, urgentNew: counts.2, urgentOld: counts.3,
                  messagesWaiting: waiting, messageAccount: account)
    }

    /// `new/old` or `new/old (urgentNew/urgentOld)`.
    static func counts(_ text: String) -> (Int, Int, Int, Int)? {
        func pair(_ s: Substring) -> (Int, Int)? {
            let parts = s.split(separator: "/", omittingEmptySubsequences: false).map { $0.trimmingSIPWhitespace() }
            guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), a >= 0, b >= 0, a <= 1_000_000, b <= 1_000_000 else { return nil }
            return (a, b)
        }
        guard let open = text.firstIndex(of: "(") else { return pair(Substring(text)).map { ($0.0, $0.1, 0, 0) } }
        guard text.hasSuffix(")"), let main = pair(text[..<open]) else { return nil }
        guard let urgent = pair(text[text.index(after: open)..<text.index(before: text.endIndex)]) else { return nil }
        return (main.0, main.1, urgent.0, urgent.1)
    }
}
