import Foundation
import Yams

/// Typed access to a YAML node tree that reports every problem as a `ConfigError`
/// naming the file, the line and the dotted key path.
struct YAMLReader {
    let file: String
    /// Where `${NAME}` references in string values are looked up (the process environment;
    /// tests pass their own).
    var environment: [String: String] = ProcessInfo.processInfo.environment

    struct Value {
        let node: Node
        let key: String
    }

    func error(_ v: Value, _ problem: String) -> ConfigError {
        ConfigError(file: file, line: v.node.mark?.line, key: v.key, problem: problem)
    }

    func root(_ text: String) throws -> Value {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let e as YamlError {
            switch e {
            case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _):
                throw ConfigError(file: file, line: mark.line, key: "", problem: "invalid YAML: \(problem)")
            default:
                throw ConfigError(file: file, line: nil, key: "", problem: "invalid YAML: \(e)")
            }
        }
        guard let node else { throw ConfigError(file: file, line: nil, key: "", problem: "the file is empty") }
        return Value(node: node, key: "")
    }

    func child(_ parent: String, _ name: String) -> String { parent.isEmpty ? name : "\(parent).\(name)" }

    /// The entries of a mapping, rejecting keys not in `allowed` (typos are errors, not silence).
    func mapping(_ v: Value, allowed: Set<String>? = nil) throws -> [(String, Value)] {
        guard case let .mapping(map) = v.node else { throw error(v, "expected a mapping (key: value)") }
        var out: [(String, Value)] = []
        for (k, value) in map {
            guard let name = k.scalar?.string else { throw error(Value(node: k, key: v.key), "keys must be plain strings") }
            if let allowed, !allowed.contains(name) {
                throw error(Value(node: k, key: child(v.key, name)),
                            "unknown key (expected one of: \(allowed.sorted().joined(separator: ", ")))")
            }
            out.append((name, Value(node: value, key: child(v.key, name))))
        }
        return out
    }

    func field(_ entries: [(String, Value)], _ name: String) -> Value? {
        entries.first { $0.0 == name }?.1
    }

    func required(_ entries: [(String, Value)], _ name: String, in parent: Value) throws -> Value {
        guard let v = field(entries, name) else { throw error(Value(node: parent.node, key: child(parent.key, name)), "is required") }
        return v
    }

    /// A scalar's text, with `${NAME}` replaced by the environment variable NAME (so secrets
    /// such as passwords and PINs stay out of the file) and `$${` kept as a literal `${`.
    func string(_ v: Value) throws -> String {
        guard case let .scalar(s) = v.node else { throw error(v, "expected a string") }
        return try expandingEnvironment(s.string, at: v)
    }

    func expandingEnvironment(_ text: String, at v: Value) throws -> String {
        guard text.contains("${") else { return text }
        var out = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.hasPrefix("${") {
                out += "${"
                rest = after.dropFirst(2)
            } else if after.hasPrefix("{") {
                guard let close = after.firstIndex(of: "}") else {
                    throw error(v, "'${' without a closing '}' (write $${ for a literal ${)")
                }
                let name = String(after[after.index(after: after.startIndex)..<close])
                guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && CharacterSet.letters.contains(first)),
                      name.unicodeScalars.allSatisfy({ $0 == "_" || ($0.isASCII && CharacterSet.alphanumerics.contains($0)) }) else {
                    throw error(v, "'${\(name)}' is not an environment variable name (letters, digits and _)")
                }
                guard let value = environment[name] else {
                    throw error(v, "environment variable \(name) is not set")
                }
                out += value
                rest = after[after.index(after: close)...]
            } else {
                out += "$"
                rest = after
            }
        }
        return out + rest
    }

    func strings(_ v: Value) throws -> [String] {
        if case .scalar = v.node { return [try string(v)] }
        guard case let .sequence(seq) = v.node else { throw error(v, "expected a list") }
        return try seq.enumerated().map { i, n in try string(Value(node: n, key: "\(v.key)[\(i)]")) }
    }

    func bool(_ v: Value) throws -> Bool {
        switch try string(v).lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(v, "expected true or false")
        }
    }

    func int(_ v: Value, in range: ClosedRange<Int>) throws -> Int {
        guard let n = Int(try string(v)), range.contains(n) else {
            throw error(v, "expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return n
    }

    /// Durations: `500ms`, `30s`, `2m`, `1h`, or a bare number of seconds. Returns milliseconds.
    func duration(_ v: Value) throws -> Int64 {
        let text = try string(v).trimmingCharacters(in: .whitespaces)
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            if let n = Int64(number), n >= 0, n < 1_000_000_000 { return n * scale }
            if let d = Double(number), d >= 0, d < 1e9 { return Int64(d * Double(scale)) }
        }
        if let n = Int64(text), n >= 0, n < 1_000_000_000 { return n * 1000 }
        throw error(v, "expected a duration such as 500ms, 30s or 2m")
    }

    /// The duration at `key` of mapping `m` in ms, if given, which must lie in `range`.
    func duration(_ m: [(String, Value)], _ key: String, in range: ClosedRange<Int64>) throws -> Int64? {
        guard let v = field(m, key) else { return nil }
        let ms = try duration(v)
        guard range.contains(ms) else {
            throw error(v, "expected a duration from \(YAMLReader.spoken(range.lowerBound)) to \(YAMLReader.spoken(range.upperBound))")
        }
        return ms
    }

    /// A duration in ms as the largest whole unit that fits: 500ms, 1s, 10m, 24h.
    static func spoken(_ ms: Int64) -> String {
        for (unit, scale) in [("h", Int64(3_600_000)), ("m", 60_000), ("s", 1000)] where ms >= scale && ms % scale == 0 {
            return "\(ms / scale)\(unit)"
        }
        return "\(ms)ms"
    }
}

