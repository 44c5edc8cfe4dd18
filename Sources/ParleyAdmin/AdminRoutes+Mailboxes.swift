import Foundation
import Hummingbird
import ParleyDSP
import ParleyStore

/// Mailboxes, messages and greetings, through the server's own `SQLiteVoicemailStore`
/// (`ParleyServer.voicemail`: its `VoicemailStore` operations and the operator functions of
/// `+Management`); a deletion updates message waiting. Path segments reach the store
/// only as a `MailboxKey` (ASCII letters and digits), a message id (a UUID) or a
/// `GreetingKind`, so no request names a file.
extension AdminRoutes {
    func registerMailboxes(on router: Router<BasicRequestContext>) {
        let base = "/v1/tenants/{tenant}/mailboxes"
        router.get(RouterPath(stringLiteral: base)) { _, context in
            let (store, tenant) = try await self.storeAndTenant(context)
            let boxes = try await AdminRoutes.storing { () async throws(StoreError) in try await store.mailboxes(tenant: tenant) }
            return try AdminJSON.response(boxes.map { AdminModels.Mailbox($0, counts: nil) })
        }
        router.post(RouterPath(stringLiteral: base)) { request, context in
            let (store, tenant) = try await self.storeAndTenant(context)
            let new = try await AdminJSON.decode(AdminModels.NewMailbox.self, from: request, limit: self.maxBody,
                                                 allowed: AdminModels.NewMailbox.fields, nested: ["options": AdminModels.Options.fields])
            let mailbox = try await AdminRoutes.storing { () async throws(StoreError) -> Mailbox in
                let key = try MailboxKey(tenant: tenant, number: new.number)
                let mailbox = Mailbox(key: key, name: new.name, emails: new.emails ?? [],
                                      options: new.options?.applied(to: MailboxOptions()) ?? MailboxOptions())
                try await store.createMailbox(mailbox, pin: new.pin, now: Date())
                return mailbox
            }
            return try AdminJSON.response(AdminModels.Mailbox(mailbox, counts: FolderCounts()), status: .created)
        }
        router.get(RouterPath(stringLiteral: "\(base)/{mailbox}")) { _, context in
            let (store, key) = try await self.storeAndMailbox(context)
            let (mailbox, counts) = try await AdminRoutes.storing { () async throws(StoreError) in
                guard let m = try await store.mailbox(key) else { throw .mailboxNotFound(key) }
                return (m, try await store.counts(key))
            }
            return try AdminJSON.response(AdminModels.Mailbox(mailbox, counts: counts))
        }
        router.patch(RouterPath(stringLiteral: "\(base)/{mailbox}")) { request, context in
            let (store, key) = try await self.storeAndMailbox(context)
            let change = try await AdminJSON.decode(AdminModels.MailboxChange.self, from: request, limit: self.maxBody,
                                                    allowed: AdminModels.MailboxChange.fields, nested: ["options": AdminModels.Options.fields])
            let (mailbox, counts) = try await AdminRoutes.storing { () async throws(StoreError) in
                guard var m = try await store.mailbox(key) else { throw .mailboxNotFound(key) }
                if let name = change.name { m.name = name }
                if let emails = change.emails { m.emails = emails }
                if let options = change.options { m.options = options.applied(to: m.options) }
                try await store.updateMailbox(m)
                if let pin = change.pin { try await store.setPIN(pin, for: key) }
                return (m, try await store.counts(key))
            }
            return try AdminJSON.response(AdminModels.Mailbox(mailbox, counts: counts))
        }
        router.delete(RouterPath(stringLiteral: "\(base)/{mailbox}")) { _, context in
            let (store, key) = try await self.storeAndMailbox(context)
            try await AdminRoutes.storing { () async throws(StoreError) in
                guard try await store.mailbox(key) != nil else { throw .mailboxNotFound(key) }
                try await store.removeMailbox(key)
            }
            await self.server.voicemail.mailboxChanged(key)
            return try AdminJSON.response(AdminModels.Deleted(deleted: true))
        }
        registerMessages(on: router, base: "\(base)/{mailbox}")
        registerGreetings(on: router, base: "\(base)/{mailbox}")
    }

    private func registerMessages(on router: Router<BasicRequestContext>, base: String) {
        router.get(RouterPath(stringLiteral: "\(base)/messages")) { request, context in
            let (store, key) = try await self.storeAndMailbox(context)
            var folder: Folder?
            if let name = request.uri.queryParameters.get("folder") {
                guard let f = Folder(rawValue: name) else {
                    throw AdminError.badRequest("folder must be one of \(Folder.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                folder = f
            }
            let messages = try await AdminRoutes.storing { () async throws(StoreError) in
                guard try await store.mailbox(key) != nil else { throw .mailboxNotFound(key) }
                if let folder { return try await store.messages(in: folder, of: key) }
                return try await store.allMessages(of: key)
            }
            return try AdminJSON.response(messages.map(AdminModels.Message.init))
        }
        router.get(RouterPath(stringLiteral: "\(base)/messages/{message}")) { _, context in
            let (store, key) = try await self.storeAndMailbox(context)
            let id = AdminRoutes.param(context, "message")
            let message = try await AdminRoutes.storing { () async throws(StoreError) in try await store.message(id, of: key) }
            return try AdminJSON.response(AdminModels.Message(message))
        }
        router.get(RouterPath(stringLiteral: "\(base)/messages/{message}/audio")) { _, context in
            let (store, key) = try await self.storeAndMailbox(context)
            let id = AdminRoutes.param(context, "message")
            let message = try await AdminRoutes.storing { () async throws(StoreError) in try await store.message(id, of: key) }
            return try AdminRoutes.wav(store.audioFile(message.audioPath), name: "\(message.id).wav")
        }
        router.delete(RouterPath(stringLiteral: "\(base)/messages/{message}")) { _, context in
            let (store, key) = try await self.storeAndMailbox(context)
            let id = AdminRoutes.param(context, "message")
            try await AdminRoutes.storing { () async throws(StoreError) in try await store.deleteMessage(id, of: key) }
            // Message waiting follows (counts re-read, NOTIFY when they changed).
            await self.server.voicemail.mailboxChanged(key)
            return try AdminJSON.response(AdminModels.Deleted(deleted: true))
        }
    }

    private func registerGreetings(on router: Router<BasicRequestContext>, base: String) {
        router.get(RouterPath(stringLiteral: "\(base)/greetings")) { _, context in
            let (store, key) = try await self.storeAndMailbox(context)
            let greetings = try await AdminRoutes.storing { () async throws(StoreError) in
                guard try await store.mailbox(key) != nil else { throw .mailboxNotFound(key) }
                var out: [Greeting] = []
                for kind in GreetingKind.allCases { if let g = try await store.greeting(kind, for: key) { out.append(g) } }
                return out
            }
            return try AdminJSON.response(greetings.map(AdminModels.Greeting.init))
        }
        router.get(RouterPath(stringLiteral: "\(base)/greetings/{kind}")) { _, context in
            let (store, key) = try await self.storeAndMailbox(context)
            let kind = try AdminRoutes.greetingKind(context)
            let greeting = try await AdminRoutes.storing { () async throws(StoreError) in try await store.greeting(kind, for: key) }
            guard let greeting else { throw AdminError.notFound("mailbox \(key) has no \(kind.rawValue) greeting") }
            return try AdminRoutes.wav(store.audioFile(greeting.audioPath), name: "\(kind.rawValue).wav")
        }
        // The body is the audio itself (WAV, or any format libsndfile reads), at most admin.max_body.
        router.put(RouterPath(stringLiteral: "\(base)/greetings/{kind}")) { request, context in
            let (store, key) = try await self.storeAndMailbox(context)
            let kind = try AdminRoutes.greetingKind(context)
            if let type = request.headers[.contentType]?.lowercased(),
               !["audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "application/octet-stream"].contains(where: { type.hasPrefix($0) }) {
                throw AdminError(.unsupportedMediaType, "unsupported_media_type", "a greeting is uploaded as audio/wav, not \(AdminRoutes.quoted(type))")
            }
            let body = try await AdminJSON.body(of: request, limit: self.maxBody)
            let audio: PCMAudio
            do {
                audio = try PCMAudio.decode(bytes: Array(body.readableBytesView), name: "upload")
            } catch {
                throw AdminError.unprocessable("the body is not audio that can be read: \(error)")
            }
            guard audio.durationMilliseconds > 0 else { throw AdminError.unprocessable("the audio is empty") }
            let greeting = try await AdminRoutes.storing { () async throws(StoreError) in
                try await store.setGreeting(kind, audio: audio, for: key, now: Date())
            }
            return try AdminJSON.response(AdminModels.Greeting(greeting), status: .created)
        }
        router.delete(RouterPath(stringLiteral: "\(base)/greetings/{kind}")) { _, context in
            let (store, key) = try await self.storeAndMailbox(context)
            let kind = try AdminRoutes.greetingKind(context)
            let existed = try await AdminRoutes.storing { () async throws(StoreError) -> Bool in
                guard try await store.greeting(kind, for: key) != nil else { return false }
                try await store.clearGreeting(kind, for: key)
                return true
            }
            guard existed else { throw AdminError.notFound("mailbox \(key) has no \(kind.rawValue) greeting") }
            return try AdminJSON.response(AdminModels.Deleted(deleted: true))
        }
    }

    // MARK: - Helpers

    func storeAndTenant(_ context: BasicRequestContext) async throws -> (SQLiteVoicemailStore, String) {
        let tenant = try await self.tenant(context).name
        guard let store else { throw AdminError.storeClosed }
        return (store, tenant)
    }

    func storeAndMailbox(_ context: BasicRequestContext) async throws -> (SQLiteVoicemailStore, MailboxKey) {
        let (store, tenant) = try await storeAndTenant(context)
        let number = AdminRoutes.param(context, "mailbox")
        let key = try await AdminRoutes.storing { () throws(StoreError) in try MailboxKey(tenant: tenant, number: number) }
        return (store, key)
    }

    static func greetingKind(_ context: BasicRequestContext) throws -> GreetingKind {
        let name = AdminRoutes.param(context, "kind")
        guard let kind = GreetingKind(rawValue: name) else {
            throw AdminError.badRequest("greeting kind must be one of \(GreetingKind.allCases.map(\.rawValue).joined(separator: ", ")), not \(quoted(name))")
        }
        return kind
    }

    /// Runs store work, turning its typed errors into HTTP ones.
    static func storing<T>(_ work: () async throws(StoreError) -> T) async throws -> T {
        do {
            return try await work()
        } catch {
            throw AdminError(error)
        }
    }

    /// An audio file the store owns (a path it checked stays under its folder), as audio/wav.
    static func wav(_ path: String?, name: String) throws -> Response {
        guard let path, let data = FileManager.default.contents(atPath: path) else {
            throw AdminError(.notFound, "not_found", "the audio file is missing")
        }
        var headers = HTTPFields()
        headers[.contentType] = "audio/wav"
        headers[.contentDisposition] = "attachment; filename=\"\(name)\""
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
