import Foundation
import ParleyMail
import ParleyStore

extension ParleyServer {
    /// Starts voicemail to email when `mail:` is configured, over the voicemail store in
    /// `storage.data_dir`.
    func startMail() throws -> ServerMail? {
        guard config.mail != nil else { return nil }
        let store = try SQLiteVoicemailStore.open(dataDirectory: config.storage.dataDirectory,
                                                  busyTimeout: Double(config.storage.busyTimeoutMilliseconds) / 1000,
                                                  logger: logger)
        return try ServerMail.start(config: config, store: store, logger: logger)
    }
}
