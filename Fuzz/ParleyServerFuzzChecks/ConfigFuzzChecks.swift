import Foundation
import ParleyServer

/// What the config fuzz target checks for every input (`scripts/fuzz config`), shared with
/// the corpus replay test: `ParleyConfig.parse` on any text, `${NAME}` references included,
/// either returns a configuration or throws a `ConfigError` naming the file; any other
/// error, or a trap, is a finding.
public enum ConfigFuzzChecks {
    /// The environment the references resolve against; SMTP_PASSWORD, PIN and TOKEN are set,
    /// EMPTY is empty, MULTILINE holds YAML-looking lines (never parsed as YAML).
    static let environment = ["SMTP_PASSWORD": "s3cret", "PIN": "1234", "TOKEN": "t0k3n", "EMPTY": "",
                              "MULTILINE": "a\nb: c\r\n- d", "HOST": "127.0.0.1"]
    static let file = "/nonexistent/parley.yaml"

    /// Returns whether the text was accepted as a configuration.
    @discardableResult
    public static func check(_ bytes: [UInt8]) -> Bool {
        do {
            let config = try ParleyConfig.parse(String(decoding: bytes, as: UTF8.self), file: file, environment: environment)
            precondition(!config.tenants.isEmpty, "an accepted configuration without a tenant")
            _ = config.referencedPrompts
            return true
        } catch let error as ConfigError {
            precondition(error.file == file && !error.problem.isEmpty, "a ConfigError without its file or problem: \(error)")
            return false
        } catch {
            preconditionFailure("ParleyConfig.parse threw \(type(of: error)), not a ConfigError: \(error)")
        }
    }
}
