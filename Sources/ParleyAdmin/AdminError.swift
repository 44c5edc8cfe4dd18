import Foundation
import Hummingbird
import ParleyStore

/// Every error the admin API answers with: a status and a JSON body
/// `{"error": {"status": 404, "code": "not_found", "message": "…"}}`.
public struct AdminError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status; self.code = code; self.message = message
    }

    static func badRequest(_ message: String) -> AdminError { AdminError(.badRequest, "bad_request", message) }
    static func notFound(_ message: String) -> AdminError { AdminError(.notFound, "not_found", message) }
    static func unprocessable(_ message: String) -> AdminError { AdminError(.unprocessableContent, "invalid", message) }
    static func tooLarge(limit: Int) -> AdminError {
        AdminError(.contentTooLarge, "too_large", "the request body is larger than the limit of \(limit) bytes (admin.max_body)")
    }
    static let unauthorized: AdminError = {
        var e = AdminError(.unauthorized, "unauthorized", "a valid bearer token is required (Authorization: Bearer …)")
        e.headers[.wwwAuthenticate] = "Bearer realm=\"parley-admin\""
        return e
    }()
    static let storeClosed = AdminError(.serviceUnavailable, "unavailable", "the voicemail store is not open")

    struct Body: Encodable {
        struct Detail: Encodable { var status: Int; var code: String; var message: String }
        var error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try AdminJSON.response(Body(error: .init(status: status.code, code: code, message: message)), status: status)
        response.headers.append(contentsOf: headers)
        return response
    }

    /// The HTTP meaning of a store error.
    init(_ error: StoreError) {
        let text = error.description
        switch error {
        case .invalidIdentifier: self.init(.badRequest, "bad_request", text)
        case .mailboxNotFound, .messageNotFound: self.init(.notFound, "not_found", text)
        case .mailboxExists: self.init(.conflict, "conflict", text)
        case .mailboxFull: self.init(.conflict, "mailbox_full", text)
        case .recordingTooLong, .unreadableRecording, .pinPolicy, .invalidArgument: self.init(.unprocessableContent, "invalid", text)
        case .crossTenant: self.init(.forbidden, "forbidden", text)
        case .databaseBusy: self.init(.serviceUnavailable, "busy", text)
        case .diskFull: self.init(HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), "disk_full", text)
        case .audioWriteFailed, .io, .database: self.init(.internalServerError, "internal", text)
        }
    }
}
