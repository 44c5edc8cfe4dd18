import Foundation
import ParleyDSP
import ParleyMedia

/// Prompts as a tenant's calls hear them: the tenant's own recording of a name
/// (`<tenant prompt folder>/<name>.wav`, by default `prompts/tenants/<tenant>/`) wins over
/// the system prompt of that name.
///
/// Which names a tenant overrides is read once when the library is built (at start and on
/// reload), so playing a prompt never looks at the disk for a file that is not there.
/// A reload reuses the decoded audio of the library it replaces (same folders): new names and
/// new tenant recordings are picked up; a WAV replaced under a name already loaded is heard
/// after a restart.
final class PromptLibrary: Sendable {
    let system: PromptCache
    private let overrides: [String: (cache: PromptCache, names: Set<String>)]

    init(config: ParleyConfig, system: PromptCache, previous: PromptLibrary? = nil) {
        self.system = system
        var overrides: [String: (PromptCache, Set<String>)] = [:]
        for t in config.tenants {
            let reused = previous?.overrides[t.name].map(\.cache).flatMap { $0.directory == PromptCache(directory: t.promptFolder).directory ? $0 : nil }
            overrides[t.name] = (reused ?? PromptCache(directory: t.promptFolder), PromptLibrary.wavNames(in: t.promptFolder))
        }
        self.overrides = overrides
    }

    /// Names (relative paths without `.wav`) of the WAV files below a folder.
    static func wavNames(in folder: String) -> Set<String> {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return [] }
        var names = Set<String>()
        while let path = walker.nextObject() as? String {
            if path.hasSuffix(".wav") { names.insert(String(path.dropLast(4))) }
        }
        return names
    }

    /// The audio of `name` for a call of `tenant`, at `rate` Hz.
    func audio(_ name: String, tenant: String, rate: Int) throws(PromptError) -> PCMAudio {
        if let o = overrides[tenant], o.names.contains(name) { return try o.cache.prompt(name, rate: rate) }
        return try system.prompt(name, rate: rate)
    }

    /// Loads every prompt the menus may play at each rate, so no caller waits on file I/O
    /// and no caller discovers a missing prompt. Throws the first problem.
    func preload(_ config: ParleyConfig, rates: [Int]) throws {
        let all = config.menuPrompts.map { ($0, $1, $2, rates) } + config.voicemailPrompts.map { ($0, $1, $2, [8000]) }
        for (tenant, prompt, usedBy, rates) in all {
            do throws(PromptError) { for rate in rates { _ = try audio(prompt, tenant: tenant, rate: rate) } } catch {
                throw ConfigError(file: config.file, line: nil, key: usedBy, problem: describe(error, prompt: prompt, tenant: tenant)
                    + "; point prompts: at the folder of prompt WAVs (the repository's prompts/), or add the file")
            }
        }
    }

    /// One line per menu prompt that exists nowhere or cannot be read.
    func missing(_ config: ParleyConfig) -> [String] {
        var seen = Set<String>()
        return (config.menuPrompts + config.voicemailPrompts).compactMap { tenant, prompt, usedBy -> String? in
            guard seen.insert("\(tenant)/\(prompt)/\(usedBy)").inserted else { return nil }
            do throws(PromptError) { _ = try audio(prompt, tenant: tenant, rate: 8000); return nil } catch {
                return "\(config.file): \(usedBy): \(describe(error, prompt: prompt, tenant: tenant))"
            }
        }
    }

    private func describe(_ error: PromptError, prompt: String, tenant: String) -> String {
        if case .notFound = error, let o = overrides[tenant] {
            return "prompt '\(prompt)' exists nowhere (looked for \(o.cache.path(for: prompt)) and \(system.path(for: prompt)))"
        }
        return "\(error)"
    }
}
