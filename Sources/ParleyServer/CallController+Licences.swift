import Foundation

/// Licence checks and usage, read on the SIP loop where the calls live.
extension CallController {
    /// Calls of `tenant` not yet ended: what its concurrent-call licence counts.
    func callsInUse(tenant: String) -> Int {
        calls.values.filter { $0.tenant == tenant && $0.state != .ended }.count
    }

    /// Whether `tenant` may run voicemail in its call flows (deposit and retrieval). The
    /// voicemail flows check this where they start; without it the caller hears not-available.
    func voicemailLicensed(tenant: String) -> Bool {
        config.tenants.first { $0.name == tenant }?.voicemailLicensed ?? false
    }

    /// Every tenant's licences with what is in use now, in configuration order.
    func licenceUsage() -> [LicenceUsage] {
        config.tenants.map { t in
            LicenceUsage(tenant: t.name,
                         concurrentCalls: .init(inUse: callsInUse(tenant: t.name), limit: t.concurrentCalls),
                         autoAttendant: t.autoAttendantLicense.rawValue,
                         voicemail: t.voicemailLicensed)
        }
    }
}
