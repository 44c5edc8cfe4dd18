import Hummingbird
import HummingbirdAuth

/// Requires `Authorization: Bearer <token>` on every request; anything else gets 401 with a
/// JSON body. The comparison takes the same time wherever the tokens differ.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]

    init(token: String) { self.token = Array(token.utf8) }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let offered = request.headers.bearer?.token, BearerTokenMiddleware.equal(Array(offered.utf8), token) else {
            throw AdminError.unauthorized
        }
        return try await next(request, context)
    }

    /// Constant time for equal lengths; a length mismatch is not secret.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}
