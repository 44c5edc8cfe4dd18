import Logging
import NIOCore
import NIOEmbedded
@testable import ParleyServer
import ParleyMedia
import ParleySIP

/// A controller on an `EmbeddedEventLoop`: time moves only when the test advances it, and
/// every message the controller sends is recorded instead of going to a socket.
final class ControllerHarness {
    let loop = EmbeddedEventLoop()
    let controller: CallController
    var sent: [(message: SIPMessage, to: String)] = []
    let phone: SIPPeer

    init(_ yaml: String) throws {
        let config = try ParleyConfig.parse(yaml, file: "test.yaml")
        let logger = Logger(label: "test")
        let media = MediaEngine(group: loop, bindHost: "127.0.0.1", ports: PortAllocator(range: 40000...40009), logger: logger)
        controller = CallController(loop: loop, config: config, media: media, prompts: PromptCache(directory: "/nonexistent"),
                                    events: try EventLog(path: nil, logger: logger), logger: logger,
                                    localHost: "127.0.0.1", localPort: 5060)
        phone = SIPPeer(address: try SocketAddress(ipAddress: "127.0.0.1", port: 5062))
        controller.attach { [unowned self] message, peer in self.sent.append((message, "\(peer.address.ipAddress ?? ""):\(peer.address.port ?? 0)")) }
    }

    /// Hands `message` to the controller as if it came from the phone.
    func receive(_ message: SIPMessage) { controller.handle(message, from: phone) }

    func advance(milliseconds: Int64) { loop.advanceTime(by: .milliseconds(milliseconds)) }

    /// Messages sent since the last call, oldest first.
    func drain() -> [SIPMessage] {
        defer { sent.removeAll() }
        return sent.map(\.message)
    }

    /// A 200 to a request the controller sent (as the phone would answer).
    static func ok(_ request: SIPMessage, status: Int = 200) -> SIPMessage {
        var r = SIPMessage(startLine: .response(status: status, reason: "R"))
        for name in ["Via", "From", "To", "Call-ID", "CSeq"] { if let v = request[name] { r.append(name, v) } }
        return r
    }
}
