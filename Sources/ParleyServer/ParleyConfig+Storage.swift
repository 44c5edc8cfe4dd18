import Foundation

extension ParleyConfig {
    /// `storage:` — where the server keeps its database and recorded audio.
    public struct Storage: Sendable, Equatable {
        /// The data directory (absolute, or resolved against the configuration file's folder).
        public var dataDirectory: String
        /// How long a database write waits for another process's lock, in milliseconds.
        public var busyTimeoutMilliseconds: Int64 = 5000
    }

    /// Parses `storage: { data_dir: ./var, busy_timeout: 5s }`. Absent: `./var` beside the file.
    static func parseStorage(_ r: YAMLReader, _ top: [(String, YAMLReader.Value)], baseDir: String) throws -> Storage {
        var storage = Storage(dataDirectory: "var")
        if let node = r.field(top, "storage") {
            let m = try r.mapping(node, allowed: ["data_dir", "busy_timeout"])
            if let v = r.field(m, "data_dir") {
                let dir = try r.string(v)
                guard !dir.isEmpty, !dir.utf8.contains(0) else { throw r.error(v, "needs a folder path") }
                storage.dataDirectory = dir
            }
            if let v = r.field(m, "busy_timeout") {
                storage.busyTimeoutMilliseconds = try r.duration(v)
                guard (0...600_000).contains(storage.busyTimeoutMilliseconds) else { throw r.error(v, "must be between 0 and 10 minutes") }
            }
        }
        if !storage.dataDirectory.hasPrefix("/") && !baseDir.isEmpty {
            storage.dataDirectory = "\(baseDir)/\(storage.dataDirectory)"
        }
        return storage
    }
}
