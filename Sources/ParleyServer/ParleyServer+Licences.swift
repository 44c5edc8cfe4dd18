import NIOCore

extension ParleyServer {
    /// Every tenant's licences and current use ("in use / limit"), read on the SIP loop so
    /// the count matches what admission sees; conference seats come from the room registry,
    /// read here under its own lock rather than on the SIP loop. For the admin API's tenants endpoint.
    public func licenceUsage() async -> [LicenceUsage] {
        let controller = self.controller
        let occupancy = conferences.occupancy()
        return (try? await sipChannel.eventLoop.submit { controller.licenceUsage(occupancy: occupancy) }.get()) ?? []
    }
}
