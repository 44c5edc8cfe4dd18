import Foundation
import NIOCore
import ParleyMedia

extension ParleyServer {
    /// Re-reads the configuration file (SIGHUP). A file that does not load — bad YAML, a
    /// rule broken, a prompt missing — changes nothing: the old configuration stays in force
    /// and the reason is logged and returned. Calls in progress keep the menus they started
    /// with; new calls get the new tenants, numbers, menus and schedules. `sip.auth` and
    /// `sip.trusted` apply from the next request: the authenticator is rebuilt on the SIP loop
    /// (keeping its nonce secret, replay table and failure counts), and the dialog checks read
    /// the new trusted networks. Listen addresses, the rest of `sip`, RTP settings and codecs
    /// need a restart (a change to them is logged and ignored).
    @discardableResult
    public func reload(path: String) async -> Result<Void, ConfigError> {
        let controller = self.controller
        let previous: PromptLibrary? = (try? await sipChannel.eventLoop.submit { controller.library }.get()) ?? nil
        let loaded: ParleyConfig
        let library: PromptLibrary
        do {
            loaded = try ParleyConfig.load(path: path)
            let fresh = PromptCache(directory: loaded.prompts)
            let prompts = previous.flatMap { $0.system.directory == fresh.directory ? $0.system : nil } ?? fresh
            library = PromptLibrary(config: loaded, system: prompts, previous: previous)
            try library.preload(loaded, rates: loaded.rtp.codecs.contains(.opus) ? PromptCache.rates : [8000])
        } catch {
            let problem = (error as? ConfigError) ?? ConfigError(file: path, line: nil, key: "", problem: "\(error)")
            logger.error("configuration not reloaded; the old one stays in force", metadata: ["why": "\(problem)"])
            events.emit(CallEvent("config.reload_failed", callID: "", [("error", .string(problem.description))]))
            return .failure(problem)
        }
        let tenants = loaded.tenants
        // Mailboxes added or changed in the file; one that cannot be written is logged and skipped.
        await voicemail.provision(loaded)
        await voicemail.loadSummaries()
        mail?.reload(loaded)
        let logger = self.logger
        let authChanged = (try? await sipChannel.eventLoop.submit { () -> Bool in
            let before = controller.config.sip
            controller.config.tenants = tenants
            controller.config.sip.auth = loaded.sip.auth
            controller.config.sip.trusted = loaded.sip.trusted
            controller.library = library
            // Rebuilt on every reload: it also reads the tenants (who may call which).
            controller.authenticator = DigestAuthenticator(config: controller.config, logger: logger, previous: controller.authenticator)
            return before.auth != loaded.sip.auth || before.trusted != loaded.sip.trusted
        }.get()) ?? false
        var sipRest = loaded.sip
        sipRest.auth = config.sip.auth
        sipRest.trusted = config.sip.trusted
        let restartOnly = sipRest != config.sip || loaded.rtp != config.rtp || loaded.prompts != config.prompts
        if authChanged {
            logger.notice("sip.auth or sip.trusted changed; applied from the next request",
                          metadata: ["auth": "\(loaded.sip.auth == nil ? "off" : "on")", "trusted": "\(loaded.sip.trusted.map { "\($0)" })"])
        }
        if restartOnly {
            logger.warning("sip (other than auth and trusted), rtp and prompts settings changed in the file; they take effect on restart only")
        }
        logger.info("configuration reloaded", metadata: ["tenants": "\(tenants.count)"])
        events.emit(CallEvent("config.reloaded", callID: "", [("tenants", .int(tenants.count))]))
        return .success(())
    }
}
