import Foundation
import Hummingbird
import NIOCore

/// JSON in and out of the admin API: snake_case keys, ISO 8601 times, and strict reading —
/// malformed JSON, a body that is not an object, an unknown field or a wrong type is a 400
/// naming the problem.
enum AdminJSON {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }()

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The whole body, refused with 413 beyond `limit` bytes.
    static func body(of request: Request, limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw AdminError.tooLarge(limit: limit)
        }
    }

    /// Decodes a JSON object whose keys are all in `allowed` (and, for an object-valued
    /// field named in `nested`, whose keys are in that set).
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int, allowed: Set<String>,
                                     nested: [String: Set<String>] = [:]) async throws -> T {
        let buffer = try await body(of: request, limit: limit)
        let data = Data(buffer.readableBytesView)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw AdminError.badRequest("malformed JSON")
        }
        guard let fields = object as? [String: Any] else { throw AdminError.badRequest("expected a JSON object") }
        try checkFields(fields, allowed: allowed, path: "")
        for (name, keys) in nested {
            guard let value = fields[name], !(value is NSNull) else { continue }
            guard let inner = value as? [String: Any] else { throw AdminError.badRequest("\(name): expected an object") }
            try checkFields(inner, allowed: keys, path: "\(name).")
        }
        do {
            return try decoder.decode(T.self, from: data)
        } catch let error as DecodingError {
            throw AdminError.badRequest(describe(error))
        }
    }

    static func checkFields(_ fields: [String: Any], allowed: Set<String>, path: String) throws {
        let unknown = fields.keys.filter { !allowed.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw AdminError.badRequest("unknown field\(unknown.count == 1 ? "" : "s") \(unknown.map { "\(path)\($0)" }.joined(separator: ", ")) (expected: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? snake($0.stringValue) }.joined(separator: ".")
            return p.isEmpty ? "body" : p
        }
        switch error {
        case let .typeMismatch(type, context): return "\(path(context)): expected \(typeName(type))"
        case let .valueNotFound(type, context): return "\(path(context)): expected \(typeName(type)), got null"
        case let .keyNotFound(key, context):
            let parent = path(context)
            return "\(parent == "body" ? "" : parent + ".")\(snake(key.stringValue)): is required"
        case let .dataCorrupted(context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "invalid request body"
        }
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type: return "a whole number"
        case is Bool.Type: return "true or false"
        case is [String].Type: return "a list of strings"
        default: return "\(type)".lowercased().contains("array") ? "a list" : "an object"
        }
    }

    static func snake(_ name: String) -> String {
        var out = ""
        for c in name { if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) } }
        return out
    }
}
