import Foundation
import Hummingbird
import ParleyMail
import ParleyServer

/// The voicemail email spool (`ServerMail`, present when `mail:` is configured): its status,
/// and "retry now", which makes every queued message due at once (after fixing a relay).
extension AdminRoutes {
    func registerMail(on router: Router<BasicRequestContext>) {
        router.get("/v1/mail") { _, _ in
            try AdminJSON.response(await self.mail().status())
        }
        router.post("/v1/mail/retry") { _, _ in
            let mail = try self.mail()
            await mail.retryNow()
            return try AdminJSON.response(await mail.status())
        }
    }

    func mail() throws -> ServerMail {
        guard let mail = server.mail else { throw AdminError.notFound("voicemail email is not configured (no mail: section)") }
        return mail
    }
}
