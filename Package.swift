// swift-tools-version:6.1
import Foundation
import PackageDescription

// Layers (see ARCHITECTURE.md): lower targets never import higher ones.
//   parley -> ParleyServer -> ParleyApps, ParleySIP, ParleyMedia -> ParleyRTP, ParleyDSP -> C system libraries
// PARLEY_TARGET_CPU=x86-64-v3 (or another LLVM CPU name) builds for that CPU, e.g. with
// AVX2 vectors for the DSP loops; unset, the toolchain's portable baseline is used.
let targetCPU: [SwiftSetting] = ProcessInfo.processInfo.environment["PARLEY_TARGET_CPU"].map {
    [.unsafeFlags(["-target-cpu", $0])]
} ?? []
let strictSwift6: [SwiftSetting] = targetCPU
let nioSwift5: [SwiftSetting] = [.swiftLanguageMode(.v5)] + targetCPU

let package = Package(
    name: "Parley",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "parley", targets: ["parley"]),
        .library(name: "ParleyDSP", targets: ["ParleyDSP"]),
        .library(name: "ParleyRTP", targets: ["ParleyRTP"]),
        .library(name: "ParleySIP", targets: ["ParleySIP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        // The server as a Service in a ServiceGroup: graceful shutdown on SIGTERM.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // Mail delivery: STARTTLS on the SMTP connection; delivery counters.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        // Test only: TestClock, so flow tests advance time instead of sleeping.
        .package(url: "https://github.com/pointfreeco/swift-clocks.git", from: "1.0.0"),
        // Admin HTTP API and Prometheus metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // System libraries, linked through pkg-config; Debian packages named as providers.
        .systemLibrary(name: "COpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
        .systemLibrary(name: "CSpanDSP", pkgConfig: "spandsp", providers: [.apt(["libspandsp-dev"])]),
        .systemLibrary(name: "CSndFile", pkgConfig: "sndfile", providers: [.apt(["libsndfile1-dev"])]),
        // recvmmsg/epoll/timerfd wrappers for the media I/O threads (no library, no C sources).
        .systemLibrary(name: "CParleyMediaIO"),

        // Pure sample processing: no I/O, no allocation on the per-frame path.
        // Optimized in debug builds too: unoptimized, its per-sample loops and SIMD types run 10-100×
        // slower, and a debug server could not keep a 15-party room (the e2e suite's) on its tick.
        .target(name: "ParleyDSP", dependencies: ["COpus", "CSpanDSP", "CSndFile"],
                swiftSettings: strictSwift6 + [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        // RTP/RTCP/RFC 4733 wire formats and receive-side state machines: no I/O.
        .target(name: "ParleyRTP", swiftSettings: strictSwift6),
        // SIP messages, URIs, SDP offer/answer: no media, no I/O.
        .target(name: "ParleySIP", swiftSettings: strictSwift6),
        // RTP sessions on media I/O threads (epoll, timerfd, recvmmsg), prompt players.
        .target(name: "ParleyMedia", dependencies: [
            "ParleyDSP", "ParleyRTP", "CParleyMediaIO",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: nioSwift5),
        // The call-flow API and the apps (auto attendant, "say", voicemail): no NIO; storage only
        // through ParleyStore's `VoicemailStore` protocol (never GRDB directly).
        .target(name: "ParleyApps", dependencies: ["ParleyStore", "ParleyDSP"], swiftSettings: strictSwift6),
        // SIP transport and call handling, configuration, event log: the composition root.
        .target(name: "ParleyServer", dependencies: [
            "ParleySIP", "ParleyMedia", "ParleyDSP", "ParleyRTP", "ParleyApps", "ParleyStore",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Yams", package: "Yams"),
            // Digest authentication: MD5, SHA-256 and HMAC for the nonces.
            .product(name: "Crypto", package: "swift-crypto"),

            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Metrics", package: "swift-metrics"),
            // Voicemail to email: the delivery service runs in the server when `mail:` is set.
            "ParleyMail",

        ], swiftSettings: nioSwift5),
        // Voicemail storage: SQLite through GRDB (WAL, migrations), audio files beside it.
        .target(name: "ParleyStore", dependencies: [
            "ParleyDSP", "CSndFile",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strictSwift6),
        // Voicemail to email: compose (MIME), durable spool, SMTP delivery (STARTTLS via NIOSSL).
        .target(name: "ParleyMail", dependencies: [
            "ParleyStore", "ParleyDSP",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], swiftSettings: nioSwift5),
        // Admin HTTP API (Hummingbird): JSON over loopback with a bearer token, live call
        // events, Prometheus /metrics. Control plane only: never on a media or SIP thread.
        .target(name: "ParleyAdmin", dependencies: [
            "ParleyServer", "ParleyStore", "ParleyMedia", "ParleyDSP", "ParleyMail",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], swiftSettings: strictSwift6),
        .executableTarget(name: "parley", dependencies: [
            "ParleyServer", "ParleyStore", "ParleySIP", "ParleyMedia", "ParleyDSP", "ParleyAdmin", "ParleyMail",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        // main.swift holds `@main`; with the subcommands in files of their own it must be
        // parsed as a library file, not as top-level code.
        ], swiftSettings: nioSwift5 + [.unsafeFlags(["-parse-as-library"])]),

        // Seeded randomness shared by the tests and the jitter-buffer evaluation.
        .target(name: "ParleyTestSupport", path: "Tests/Support"),
        .testTarget(name: "ParleyDSPTests", dependencies: ["ParleyDSP", "CSpanDSP", "ParleyTestSupport"]),
        .testTarget(name: "ParleyRTPTests", dependencies: ["ParleyRTP", "ParleyFuzzChecks", "ParleyTestSupport"]),
        // The checks the fuzz targets run, shared with the corpus replay test.
        .target(name: "ParleyFuzzChecks", dependencies: ["ParleySIP", "ParleyRTP"], path: "Fuzz/ParleyFuzzChecks", swiftSettings: strictSwift6),
        .testTarget(name: "ParleySIPTests", dependencies: ["ParleySIP", "ParleyFuzzChecks", "ParleyTestSupport"]),
        .testTarget(name: "ParleyMediaTests", dependencies: ["ParleyMedia", "ParleyDSP", "ParleyRTP",
                                                        .product(name: "NIOPosix", package: "swift-nio")], swiftSettings: nioSwift5),
        .testTarget(name: "ParleyAppsTests", dependencies: ["ParleyApps", "ParleyStore", "ParleyDSP",
                                                       .product(name: "Clocks", package: "swift-clocks")]),
        .testTarget(name: "ParleyServerTests", dependencies: ["ParleyServer", "ParleySIP", "ParleyMedia",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log")], swiftSettings: nioSwift5),
        .testTarget(name: "ParleyStoreTests", dependencies: ["ParleyStore", "ParleyDSP"]),
        .testTarget(name: "ParleyMailTests", dependencies: ["ParleyMail", "ParleyStore", "ParleyDSP", "CSndFile",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio")], swiftSettings: nioSwift5),
    ]
)

// Benchmarks (ordo-one/benchmark) are opt-in: `scripts/bench` sets PARLEY_BENCHMARKS=1 and
// builds them in their own scratch folder, so the ordinary build and the test run stay lean.
if ProcessInfo.processInfo.environment["PARLEY_BENCHMARKS"] == "1" {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/package-benchmark.git", from: "1.38.0", traits: ["MallocInterposer"]))
    package.targets.append(contentsOf: [
        // libspeexdsp's resampler: a reference to compare against, never linked into Parley.
        .systemLibrary(name: "CSpeexDSP", path: "Benchmarks/CSpeexDSP", pkgConfig: "speexdsp", providers: [.apt(["libspeexdsp-dev"])]),
        .executableTarget(
            name: "MediaBenchmarks",
            dependencies: [
                "ParleyDSP", "ParleyRTP", "ParleySIP", "ParleyMedia", "ParleyStore", "CSpanDSP", "CSpeexDSP",
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/MediaBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]),
        // Jitter-buffer evaluation: a G.1050-style network model replayed through Parley's
        // buffer and spandsp's play-out buffer side by side (`swift run -c release JitterEval`).
        .executableTarget(
            name: "JitterEval",
            dependencies: ["ParleyDSP", "ParleyRTP", "ParleyMedia", "CSpanDSP", "ParleyTestSupport"],
            path: "Benchmarks/JitterEval"),
        // liburing: the io_uring arm of the media I/O comparison (MediaLoad) only.
        .systemLibrary(name: "CLiburing", path: "Benchmarks/CLiburing", pkgConfig: "liburing", providers: [.apt(["liburing-dev"])]),
        // Media load: legs per core on real sockets, and the I/O design comparison (scripts/load-media).
        .executableTarget(
            name: "MediaLoad",
            dependencies: [
                "ParleyMedia", "ParleyDSP", "CParleyMediaIO", "CLiburing", "COpus",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/MediaLoad", swiftSettings: nioSwift5),
    ])
}

// Fuzzing (libFuzzer) is opt-in: scripts/fuzz sets PARLEY_FUZZ=1 and builds with
// -sanitize=fuzzer,address in its own scratch folder. SwiftPM renames an executable's main,
// so a small C driver starts libFuzzer (LLVMFuzzerRunDriver) from the Swift main.
if ProcessInfo.processInfo.environment["PARLEY_FUZZ"] == "1" {
    package.targets.append(contentsOf: [
        .target(name: "CParleyFuzzDriver", path: "Fuzz/CParleyFuzzDriver"),
        // The mail and config checks (`scripts/fuzz mail|config`): `@testable` imports, so
        // fuzz builds only (scripts/fuzz passes -enable-testing).
        .target(name: "ParleyServerFuzzChecks", dependencies: ["ParleyServer", "ParleySIP", "ParleyMail", "ParleyStore",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio")],
                path: "Fuzz/ParleyServerFuzzChecks", swiftSettings: nioSwift5),
        .executableTarget(name: "ParleyFuzz", dependencies: ["ParleyRTP", "ParleyFuzzChecks", "ParleyServerFuzzChecks", "CParleyFuzzDriver"],
                          path: "Fuzz/ParleyFuzz", swiftSettings: strictSwift6),
    ])
}
