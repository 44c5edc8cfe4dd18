import Hummingbird
import ParleyServer

extension AdminRoutes {
    func registerTenants(on router: Router<BasicRequestContext>) {
        router.get("/v1/tenants") { _, _ in
            let tenants = await self.server.currentTenants()
            let usage = await self.server.licenceUsage()
            return try AdminJSON.response(tenants.map { t in AdminModels.Tenant(t, licences: usage.first { $0.tenant == t.name }) })
        }
        router.get("/v1/tenants/{tenant}") { _, context in
            let tenant = try await self.tenant(context)
            let usage = await self.server.licenceUsage().first { $0.tenant == tenant.name }
            return try AdminJSON.response(AdminModels.Tenant(tenant, licences: usage))
        }
    }
}
