import Foundation
import Hummingbird
import ParleyMedia
import ParleyServer

/// Conference rooms through `ConferenceRegistry`, the rooms' control API: active rooms with
/// their participants (talking, muted, receive loss, jitter, jitter-buffer delay), mute and
/// unmute, mute everyone but the moderators, kick, lock and unlock.
extension AdminRoutes {
    func registerConferences(on router: Router<BasicRequestContext>) {
        router.get("/v1/conferences") { _, _ in
            try AdminJSON.response(await self.rooms(self.server.conferences.list()))
        }
        let base = "/v1/tenants/{tenant}/conferences"
        router.get(RouterPath(stringLiteral: base)) { _, context in
            let tenant = try await self.tenant(context).name
            return try AdminJSON.response(await self.rooms(self.server.conferences.list(tenant: tenant)))
        }
        router.get(RouterPath(stringLiteral: "\(base)/{room}")) { _, context in
            let (tenant, room) = try await self.room(context)
            return try await self.roomResponse(tenant, room)
        }
        for (action, locked) in [("lock", true), ("unlock", false)] {
            router.post(RouterPath(stringLiteral: "\(base)/{room}/\(action)")) { _, context in
                let (tenant, room) = try await self.room(context)
                try AdminRoutes.controlling { try self.server.conferences.setLocked(tenant: tenant, room: room, locked) }
                return try await self.roomResponse(tenant, room)
            }
        }
        for (action, muted) in [("mute-others", true), ("unmute-others", false)] {
            router.post(RouterPath(stringLiteral: "\(base)/{room}/\(action)")) { _, context in
                let (tenant, room) = try await self.room(context)
                try AdminRoutes.controlling { try self.server.conferences.setOthersMuted(tenant: tenant, room: room, muted) }
                return try await self.roomResponse(tenant, room)
            }
        }
        for (action, muted) in [("mute", true), ("unmute", false)] {
            router.post(RouterPath(stringLiteral: "\(base)/{room}/participants/{participant}/\(action)")) { _, context in
                let (tenant, room) = try await self.room(context)
                let id = try AdminRoutes.participant(context)
                try AdminRoutes.controlling { try self.server.conferences.setMuted(tenant: tenant, room: room, participant: id, muted) }
                return try await self.roomResponse(tenant, room)
            }
        }
        router.post(RouterPath(stringLiteral: "\(base)/{room}/participants/{participant}/kick")) { _, context in
            let (tenant, room) = try await self.room(context)
            let id = try AdminRoutes.participant(context)
            try AdminRoutes.controlling { try self.server.conferences.kick(tenant: tenant, room: room, participant: id) }
            return try AdminJSON.response(AdminModels.Kicked(participant: id, kicked: true))
        }
    }

    /// Rooms with each participant's receive quality, read from the legs.
    func rooms(_ infos: [ConferenceRegistry.RoomInfo]) async -> [AdminModels.Room] {
        var out: [AdminModels.Room] = []
        for info in infos {
            let quality = (try? await server.conferences.quality(tenant: info.tenant, room: info.room)) ?? []
            out.append(AdminModels.Room(info, quality: Dictionary(quality.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })))
        }
        return out
    }

    func roomResponse(_ tenant: String, _ room: String) async throws -> Response {
        guard let info = server.conferences.list(tenant: tenant).first(where: { $0.room == room }) else {
            throw AdminError.notFound("no active room \(AdminRoutes.quoted(room)) for tenant \(AdminRoutes.quoted(tenant))")
        }
        guard let shown = await rooms([info]).first else { throw AdminError.notFound("room \(AdminRoutes.quoted(room)) has just closed") }
        return try AdminJSON.response(shown)
    }

    /// The tenant (which must exist) and the room named in the path.
    func room(_ context: BasicRequestContext) async throws -> (String, String) {
        let tenant = try await self.tenant(context).name
        return (tenant, AdminRoutes.param(context, "room"))
    }

    static func participant(_ context: BasicRequestContext) throws -> Int {
        let text = param(context, "participant")
        guard let id = Int(text), id >= 0 else { throw AdminError.badRequest("participant must be a participant id (a whole number), not \(quoted(text))") }
        return id
    }

    /// Runs a registry command, turning its errors into 404s.
    static func controlling(_ work: () throws -> Void) throws {
        do {
            try work()
        } catch let error as ConferenceRegistry.ControlError {
            throw AdminError.notFound(error.description)
        }
    }
}
