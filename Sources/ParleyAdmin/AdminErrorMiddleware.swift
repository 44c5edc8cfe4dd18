import Foundation
import Hummingbird
import NIOCore

/// Turns every error a handler throws into a JSON error response (`AdminError`), so no
/// request — malformed, oversized, for an unknown path — gets an empty or HTML body.
struct AdminErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as AdminError {
            throw error
        } catch let error as HTTPError {
            throw AdminError(error.status, AdminErrorMiddleware.code(error.status), error.body ?? error.status.reasonPhrase)
        } catch is NIOTooManyBytesError {
            throw AdminError(.contentTooLarge, "too_large", "the request body is too large")
        } catch let error as HTTPResponseError {
            throw AdminError(error.status, AdminErrorMiddleware.code(error.status), error.status.reasonPhrase)
        } catch is CancellationError {
            throw AdminError(.serviceUnavailable, "unavailable", "the server is stopping")
        } catch {
            context.logger.error("admin API request failed", metadata: ["error": "\(error)"])
            throw AdminError(.internalServerError, "internal", "internal error")
        }
    }

    static func code(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: return "bad_request"
        case 401: return "unauthorized"
        case 404: return "not_found"
        case 405: return "method_not_allowed"
        case 413: return "too_large"
        case 415: return "unsupported_media_type"
        default: return status.code >= 500 ? "internal" : "error"
        }
    }
}
