import Hummingbird

extension AdminRoutes {
    func registerTenants(on router: Router<BasicRequestContext>) {
        router.get("/v1/tenants") { _, _ in
            let usage = await self.server.tenantUsage()
            return try AdminJSON.response(usage.map { AdminModels.Tenant($0.tenant, activeCalls: $0.activeCalls) })
        }
        router.get("/v1/tenants/{tenant}") { _, context in
            let found = try await self.tenant(context)
            return try AdminJSON.response(AdminModels.Tenant(found.tenant, activeCalls: found.activeCalls))
        }
    }
}
