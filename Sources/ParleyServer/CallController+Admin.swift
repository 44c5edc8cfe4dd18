import Foundation
import NIOCore
import ParleyMedia
import ParleySIP

/// What the admin API may see and do to calls. Confined to the SIP loop like the rest of
/// the controller; `ParleyServer+Admin` hops here.
extension CallController {
    /// The app a target runs, by its case name (`play`, `menu`, `transfer`, …): read from the
    /// enum itself so targets added later are named without a change here.
    static func appName(_ target: ParleyConfig.Target) -> String {
        if let label = Mirror(reflecting: target).children.first?.label { return label }
        return String(describing: target)
    }

    func summaries() -> [CallSummary] {
        calls.values.filter { $0.state != .ended }.map { call in
            CallSummary(callID: call.id, tenant: call.tenant, number: call.number, app: CallController.appName(call.target),
                        from: call.invite["From"].flatMap(NameAddress.init)?.uri ?? "",
                        state: "\(call.state)", codec: call.negotiated?.codec.name,
                        receivedAt: call.receivedAt)
        }.sorted { $0.receivedAt < $1.receivedAt }
    }

    /// The media legs of calls in progress, for statistics.
    func activeLegs() -> [(callID: String, leg: MediaLeg)] {
        calls.values.compactMap { call in call.state == .ended ? nil : call.leg.map { (call.id, $0) } }
    }

    /// Ends a call on an operator's request: BYE when the dialog is up, else a final 480 to
    /// the INVITE. False when no such call is in progress.
    func hangUp(callID: String) -> Bool {
        guard let call = calls[callID: callID], call.state != .ended else { return false }
        switch call.state {
        case .answered, .confirmed:
            sendBye(call)
        case .proceeding, .answering:
            let r = SIPResponses.response(to: call.invite, status: 480, reason: "Temporarily Unavailable", toTag: call.localTag)
            call.lastInviteResponse = r
            send(r, call.source)
        case .ended:
            break
        }
        call.logger.notice("call ended by the admin API")
        end(call, cause: "admin")
        return true
    }
}

/// One call in progress, as the admin API lists it.
public struct CallSummary: Sendable, Equatable {
    public var callID: String
    public var tenant: String
    public var number: String
    public var app: String
    public var from: String
    /// proceeding, answering, answered or confirmed.
    public var state: String
    public var codec: String?
    public var receivedAt: Date
}
