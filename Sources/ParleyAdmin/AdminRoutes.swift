import Foundation
import Hummingbird
import ParleyServer
import ParleyStore

/// The admin API's handlers and what they reach: the running server, the voicemail store
/// and the metrics. Registered by `AdminServer`; one file per area
/// (`AdminRoutes+Tenants`, `+Mailboxes`, `+Calls`, `+Events`).
struct AdminRoutes: Sendable {
    let server: ParleyServer
    let store: SQLiteVoicemailStore?
    let metrics: MetricsExporter?
    let configPath: String
    let maxBody: Int
    let started: Date
    let streams: EventStreams

    func register(on router: Router<BasicRequestContext>) {
        router.get("/health") { _, _ in try await self.health() }
        router.get("/ready") { _, _ in try await self.ready() }
        router.get("/metrics") { _, _ in try await self.metricsText() }
        router.post("/v1/reload") { _, _ in try await self.reload() }
        registerTenants(on: router)
        registerMailboxes(on: router)
        registerCalls(on: router)
        registerEvents(on: router)
        registerConferences(on: router)
        registerMail(on: router)
    }

    func health() async throws -> Response {
        let calls = await server.activeCalls().count
        return try AdminJSON.response(AdminModels.Health(status: "ok", uptimeSeconds: Int(Date().timeIntervalSince(started)), activeCalls: calls))
    }

    /// 200 while the server takes calls; 503 while it drains for shutdown.
    func ready() async throws -> Response {
        let draining = await server.isDraining()
        return try AdminJSON.response(AdminModels.Status(status: draining ? "draining" : "ready"),
                                      status: draining ? .serviceUnavailable : .ok)
    }

    func metricsText() async throws -> Response {
        guard let metrics else { throw AdminError.notFound("metrics are not enabled") }
        let bytes = await metrics.render()
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Re-reads the configuration file as SIGHUP does; a bad file keeps the old one (422).
    func reload() async throws -> Response {
        switch await server.reload(path: configPath) {
        case .success:
            let tenants = await server.currentTenants().count
            return try AdminJSON.response(AdminModels.Reloaded(reloaded: true, tenants: tenants))
        case let .failure(error):
            throw AdminError(.unprocessableContent, "invalid_config", "configuration not reloaded; the old one stays in force: \(error)")
        }
    }

    /// The tenant named in the path, as now configured; 404 when there is none.
    func tenant(_ context: BasicRequestContext) async throws -> ParleyConfig.Tenant {
        let name = AdminRoutes.param(context, "tenant")
        guard let found = await server.currentTenants().first(where: { $0.name == name }) else {
            throw AdminError.notFound("no tenant \(AdminRoutes.quoted(name))")
        }
        return found
    }

    /// A path parameter, percent-decoded (the router matches the raw path). Whatever it
    /// decodes to is only ever looked up or validated, never used as a file name.
    static func param(_ context: BasicRequestContext, _ name: String) -> String {
        let raw = context.parameters.get(name) ?? ""
        return raw.removingPercentEncoding ?? raw
    }

    /// A value from the request, quoted and cut short for an error message.
    static func quoted(_ value: String) -> String {
        let clean = String(String.UnicodeScalarView(value.unicodeScalars.prefix(64).filter { $0.value >= 0x20 && $0.value != 0x7F && $0 != "'" }))
        return "'\(clean)\(value.unicodeScalars.count > 64 ? "…" : "")'"
    }
}
