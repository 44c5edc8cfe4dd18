import Foundation
import NIOCore
import ParleyMedia

/// The control-plane view of a running server that the admin API needs. Every function hops
/// to the SIP loop (where the controller lives) and returns; none blocks a loop.
extension ParleyServer {
    /// Calls in progress, oldest first.
    public func activeCalls() async -> [CallSummary] {
        let controller = self.controller
        return (try? await sipChannel.eventLoop.submit { controller.summaries() }.get()) ?? []
    }

    /// Ends a call in progress (BYE, or 480 before the answer). False when there is no such call.
    public func hangUp(callID: String) async -> Bool {
        let controller = self.controller
        return (try? await sipChannel.eventLoop.submit { controller.hangUp(callID: callID) }.get()) ?? false
    }

    /// The tenants now in force (after any reload), in configuration order.
    public func currentTenants() async -> [ParleyConfig.Tenant] {
        let controller = self.controller
        return (try? await sipChannel.eventLoop.submit { controller.config.tenants }.get()) ?? []
    }

    /// True while shutting down (new calls refused).
    public func isDraining() async -> Bool {
        let controller = self.controller
        return (try? await sipChannel.eventLoop.submit { controller.draining }.get()) ?? true
    }

    /// Each call's media counters, read on the legs' own threads (a queued task per leg, no
    /// lock on the media path). For metrics and the call list.
    public func legStatistics() async -> [(callID: String, statistics: LegStatistics)] {
        let controller = self.controller
        let legs = (try? await sipChannel.eventLoop.submit { controller.activeLegs() }.get()) ?? []
        var out: [(callID: String, statistics: LegStatistics)] = []
        for (callID, leg) in legs {
            if let s = try? await leg.currentStatistics().get() { out.append((callID, s)) }
        }
        return out
    }
}
