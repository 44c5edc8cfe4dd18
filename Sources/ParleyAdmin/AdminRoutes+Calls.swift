import Hummingbird

extension AdminRoutes {
    func registerCalls(on router: Router<BasicRequestContext>) {
        router.get("/v1/calls") { request, _ in
            let tenant = request.uri.queryParameters.get("tenant")
            let calls = await self.server.activeCalls().filter { tenant == nil || $0.tenant == tenant }
            let statistics = Dictionary(await self.server.legStatistics().map { ($0.callID, $0.statistics) }, uniquingKeysWith: { a, _ in a })
            return try AdminJSON.response(calls.map { AdminModels.Call($0, statistics: statistics[$0.callID]) })
        }
        router.post("/v1/calls/{call_id}/hangup") { _, context in
            let id = AdminRoutes.param(context, "call_id")
            guard await self.server.hangUp(callID: id) else {
                throw AdminError.notFound("no call \(AdminRoutes.quoted(id)) in progress")
            }
            return try AdminJSON.response(AdminModels.HungUp(callId: id, hungUp: true))
        }
    }
}
