import Foundation
import NIOCore
import ParleyApps
import ParleyMedia

extension CallController {
    /// "Now" for schedules. `PARLEY_TEST_NOW` (ISO 8601, e.g. `2026-10-25T07:30:00Z`) is a
    /// test-only override: the wall clock then starts at that instant when the server starts
    /// (`ParleyServer.start` reads it, and logs a warning) and runs on from there. Never set it
    /// in production.
    static let wallClock: @Sendable () -> Date = {
        guard let text = ProcessInfo.processInfo.environment["PARLEY_TEST_NOW"],
              let start = ISO8601DateFormatter().date(from: text) else { return { Date() } }
        let origin = ContinuousClock.now
        return { start.addingTimeInterval(Double((ContinuousClock.now - origin).components.seconds)
                                          + Double((ContinuousClock.now - origin).components.attoseconds) / 1e18) }
    }()

    /// Runs the tenant's menu on a confirmed call.
    func startMenu(_ call: Call, menu: String) {
        let events = self.events
        let callID = call.id
        let logger = call.logger
        let handoff = withConference(appHandoff(call), call: call)
        startFlow(call) { flow, config in
            let attendant = AutoAttendant(config: config, startMenu: menu, now: CallController.wallClock, handoff: handoff) { event in
                events.emit(CallController.callEvent(event, callID: callID))
                if case let .unavailable(menu, action) = event {
                    logger.notice("menu action not available in this build; the caller hears not-available",
                                  metadata: ["menu": "\(menu)", "action": "\(action)"])
                }
            }
            try await attendant.run(flow)
        }
    }

    /// Starts a call flow as the call's one task, on the tenant's configuration as it is now
    /// (a reload later does not change this call). Hang-up cancels the task.
    func startFlow(_ call: Call, _ body: @escaping @Sendable (CallFlow, AttendantConfig) async throws -> Void) {
        guard let leg = call.leg, let library, let tenant = config.tenants.first(where: { $0.name == call.tenant }) else { return }
        let attendant = tenant.attendant
        let loop = self.loop
        let callID = call.id
        let logger = call.logger
        let channel = LegCallChannel(
            leg: leg, tenant: tenant.name, library: library,
            onHangup: { [weak self] in loop.execute { self?.hangUpFromApp(callID: callID) } },
            onTransfer: { [weak self] target, done in
                loop.execute {
                    guard let self else { return done(.failed(status: nil, reason: "the server is stopping")) }
                    self.transfer(callID: callID, to: target, completion: done)
                }
            })
        call.flow = channel
        channel.run { channel in
            let flow = CallFlow(channel: channel)
            do {
                try await body(flow, attendant)
            } catch CallFlowError.hungUp {
            } catch {
                logger.error("call flow stopped: \(error)")
                flow.hangup()
            }
        }
    }

    /// The flow asked to end the call.
    func hangUpFromApp(callID: String) {
        guard let call = calls[callID: callID], call.state == .confirmed || call.state == .answered else { return }
        sendBye(call)
        end(call, cause: "app-hangup")
    }

    static func callEvent(_ event: AttendantEvent, callID: String) -> CallEvent {
        switch event {
        case let .menuEntered(menu, state):
            return CallEvent("menu.entered", callID: callID, [("menu", .string(menu)), ("schedule", .string(state.rawValue))])
        case let .selected(menu, keys, action):
            return CallEvent("menu.selected", callID: callID, [("menu", .string(menu)), ("keys", .string(keys)), ("action", .string("\(action)"))])
        case let .invalid(menu, keys):
            return CallEvent("menu.invalid", callID: callID, [("menu", .string(menu)), ("keys", .string(keys))])
        case let .noInput(menu):
            return CallEvent("menu.no_input", callID: callID, [("menu", .string(menu))])
        case let .fallback(menu, action):
            return CallEvent("menu.fallback", callID: callID, [("menu", .string(menu)), ("action", .string("\(action)"))])
        case let .unavailable(menu, action):
            return CallEvent("menu.unavailable", callID: callID, [("menu", .string(menu)), ("action", .string("\(action)"))])
        case let .transferred(target, result):
            var fields: [(String, EventValue)] = [("target", .string(target))]
            switch result {
            case let .succeeded(status): fields += [("result", "succeeded"), ("status", .int(status))]
            case let .failed(status, reason): fields += [("result", "failed"), ("status", .int(status ?? 0)), ("reason", .string(reason))]
            }
            return CallEvent("transfer", callID: callID, fields)
        }
    }
}
