import Hummingbird
import NIOCore
import ParleyServer

/// `GET /v1/events`: the call events the event log writes, live, as NDJSON (one JSON object
/// per line, the same line as `--events FILE`) or, when the client accepts
/// `text/event-stream`, as Server-Sent Events (`event:` the event's name, `data:` the line).
/// An empty line (NDJSON) or a comment (SSE) goes out at once and every 15 s when nothing
/// else does, so idle proxies keep the connection and a gone client is noticed.
extension AdminRoutes {
    func registerEvents(on router: Router<BasicRequestContext>) {
        router.get("/v1/events") { request, _ -> Response in try self.events(request) }
    }

    func events(_ request: Request) throws -> Response {
        let sse = request.headers[.accept]?.lowercased().contains("text/event-stream") ?? false
        let render: @Sendable (CallEvent) -> String = sse ? AdminRoutes.serverSentEvent : AdminRoutes.line
        guard let stream = streams.stream(render: render) else {
            var e = AdminError(.serviceUnavailable, "too_many_streams",
                               "\(streams.limit) event streams are open already (admin.max_event_streams)")
            e.headers[.retryAfter] = "30"
            throw e
        }
        var headers = HTTPFields()
        headers[.contentType] = sse ? "text/event-stream" : "application/x-ndjson"
        headers[.cacheControl] = "no-store"
        let keepAlive = sse ? ":\n\n" : "\n"
        let body = ResponseBody { (writer: inout any ResponseBodyWriter) in
            try await writer.write(ByteBuffer(string: keepAlive))
            for await item in stream {
                try await writer.write(ByteBuffer(string: item ?? keepAlive))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    @Sendable static func line(_ event: CallEvent) -> String { event.jsonLine + "\n" }

    @Sendable static func serverSentEvent(_ event: CallEvent) -> String {
        "event: \(event.name.filter { $0 != "\n" && $0 != "\r" })\ndata: \(event.jsonLine)\n\n"
    }
}
