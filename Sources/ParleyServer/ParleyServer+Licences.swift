import NIOCore

extension ParleyServer {
    /// Every tenant's licences and current use ("in use / limit"), read on the SIP loop so
    /// the count matches what admission sees. For the admin API's tenants endpoint.
    public func licenceUsage() async -> [LicenceUsage] {
        let controller = self.controller
        return (try? await sipChannel.eventLoop.submit { controller.licenceUsage() }.get()) ?? []
    }
}
