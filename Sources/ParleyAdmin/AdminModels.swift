import Foundation
import ParleyMedia
import ParleyServer
import ParleyStore

/// The JSON shapes of the admin API (see openapi/parley-admin.yaml); keys are written in
/// snake_case by `AdminJSON`.
enum AdminModels {
    struct Status: Encodable { var status: String }

    struct Health: Encodable {
        var status: String
        var uptimeSeconds: Int
        var activeCalls: Int
    }

    struct Tenant: Encodable {
        var name: String
        var domains: [String]
        var numbers: [String]
        var licences: LicenceUsage?

        init(_ tenant: ParleyConfig.Tenant, licences: LicenceUsage?) {
            name = tenant.name
            domains = tenant.domains
            numbers = tenant.numbers.keys.sorted()
            self.licences = licences
        }
    }

    struct Options: Codable {
        var attachAudio: Bool?
        var deleteAfterEmail: Bool?
        var maxMessages: Int?
        var maxMessageSeconds: Int?
        static let fields: Set<String> = ["attach_audio", "delete_after_email", "max_messages", "max_message_seconds"]

        init(_ o: MailboxOptions) {
            attachAudio = o.attachAudio; deleteAfterEmail = o.deleteAfterEmail
            maxMessages = o.maxMessages; maxMessageSeconds = o.maxMessageSeconds
        }

        func applied(to o: MailboxOptions) -> MailboxOptions {
            MailboxOptions(attachAudio: attachAudio ?? o.attachAudio, deleteAfterEmail: deleteAfterEmail ?? o.deleteAfterEmail,
                           maxMessages: maxMessages ?? o.maxMessages, maxMessageSeconds: maxMessageSeconds ?? o.maxMessageSeconds)
        }
    }

    struct Counts: Encodable {
        var new: Int, old: Int, saved: Int, deleted: Int, urgentNew: Int
        init(_ c: FolderCounts) { new = c.new; old = c.old; saved = c.saved; deleted = c.deleted; urgentNew = c.urgentNew }
    }

    struct Mailbox: Encodable {
        var tenant: String
        var number: String
        var name: String
        var emails: [String]
        var options: Options
        var counts: Counts?

        init(_ m: ParleyStore.Mailbox, counts: FolderCounts?) {
            tenant = m.key.tenant; number = m.key.number; name = m.name; emails = m.emails
            options = Options(m.options); self.counts = counts.map(Counts.init)
        }
    }

    struct NewMailbox: Decodable {
        var number: String
        var name: String
        var pin: String
        var emails: [String]?
        var options: Options?
        static let fields: Set<String> = ["number", "name", "pin", "emails", "options"]
    }

    struct MailboxChange: Decodable {
        var name: String?
        var pin: String?
        var emails: [String]?
        var options: Options?
        static let fields: Set<String> = ["name", "pin", "emails", "options"]
    }

    struct Message: Encodable {
        var id: String
        var folder: String
        var urgent: Bool
        var callerNumber: String
        var callerName: String
        var receivedAt: Date
        var durationMs: Int
        var emailState: String
        var damaged: Bool

        init(_ m: VoicemailMessage) {
            id = m.id; folder = m.folder.rawValue; urgent = m.urgent; callerNumber = m.callerNumber
            callerName = m.callerName; receivedAt = m.receivedAt; durationMs = m.durationMilliseconds
            emailState = m.emailState.rawValue; damaged = m.damaged
        }
    }

    struct Greeting: Encodable {
        var kind: String
        var durationMs: Int
        var recordedAt: Date
        init(_ g: ParleyStore.Greeting) { kind = g.kind.rawValue; durationMs = g.durationMilliseconds; recordedAt = g.recordedAt }
    }

    struct Media: Encodable {
        var packetsIn: Int
        var packetsOut: Int
        var packetsLost: Int
        var packetsLate: Int
        var jitterBufferMs: Int
        var roundTripMs: Int?

        init(_ s: LegStatistics) {
            packetsIn = s.packetsReceived; packetsOut = s.packetsSent; packetsLost = s.packetsLost
            packetsLate = s.lateDropped; jitterBufferMs = s.jitterBufferDelayMilliseconds
            roundTripMs = s.roundTripMilliseconds >= 0 ? s.roundTripMilliseconds : nil
        }
    }

    struct Call: Encodable {
        var callId: String
        var tenant: String
        var number: String
        var app: String
        var from: String
        var state: String
        var codec: String?
        var receivedAt: Date
        var media: Media?

        init(_ c: CallSummary, statistics: LegStatistics?) {
            callId = c.callID; tenant = c.tenant; number = c.number; app = c.app; from = c.from
            state = c.state; codec = c.codec; receivedAt = c.receivedAt; media = statistics.map(Media.init)
        }
    }

    struct Quality: Encodable {
        var packetsExpected: Int
        var packetsLost: Int
        var jitterMs: Double
        var jitterBufferMs: Int
        var concealedFrames: Int
        /// Frames lost between the leg's thread and the room's (both directions).
        var bridgeFramesMissing: Int

        init(_ q: ConferenceRegistry.LegQuality) {
            packetsExpected = q.receive.packetsExpected; packetsLost = q.receive.packetsLost
            jitterMs = (q.receive.jitterMilliseconds * 10).rounded() / 10
            jitterBufferMs = q.receive.jitterBufferDelayMilliseconds; concealedFrames = q.receive.concealedFrames
            bridgeFramesMissing = q.portFramesMissing
        }
    }

    struct Participant: Encodable {
        var id: Int
        var callId: String
        var moderator: Bool
        var muted: Bool
        var talking: Bool
        var joinedAt: Date
        var quality: Quality?
    }

    struct Room: Encodable {
        var tenant: String
        var room: String
        var locked: Bool
        var limit: Int
        var mixingRate: Int
        var recording: Bool
        var participants: [Participant]

        init(_ r: ConferenceRegistry.RoomInfo, quality: [Int: ConferenceRegistry.LegQuality]) {
            tenant = r.tenant; room = r.room; locked = r.locked; limit = r.limit; mixingRate = r.mixingRate
            recording = r.recording != nil
            participants = r.participants.map {
                Participant(id: $0.id, callId: $0.callID, moderator: $0.moderator, muted: $0.muted, talking: $0.talking,
                            joinedAt: $0.joinedAt, quality: quality[$0.id].map(Quality.init))
            }
        }
    }

    struct Kicked: Encodable { var participant: Int; var kicked: Bool }

    struct Reloaded: Encodable { var reloaded: Bool; var tenants: Int }
    struct HungUp: Encodable { var callId: String; var hungUp: Bool }
    struct Deleted: Encodable { var deleted: Bool }
}
