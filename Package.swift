// swift-tools-version:6.1
import Foundation
import PackageDescription

// Layers (see ARCHITECTURE.md): lower targets never import higher ones.
//   parley -> ParleyServer -> ParleySIP, ParleyMedia -> ParleyRTP, ParleyDSP -> C system libraries
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
    ],
    targets: [
        // System libraries, linked through pkg-config; Debian packages named as providers.
        .systemLibrary(name: "COpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
        .systemLibrary(name: "CSpanDSP", pkgConfig: "spandsp", providers: [.apt(["libspandsp-dev"])]),
        .systemLibrary(name: "CSndFile", pkgConfig: "sndfile", providers: [.apt(["libsndfile1-dev"])]),

        // Pure sample processing: no I/O, no allocation on the per-frame path.
        .target(name: "ParleyDSP", dependencies: ["COpus", "CSpanDSP", "CSndFile"], swiftSettings: strictSwift6),
        // RTP/RTCP/RFC 4733 wire formats and receive-side state machines: no I/O.
        .target(name: "ParleyRTP", swiftSettings: strictSwift6),
        // SIP messages, URIs, SDP offer/answer: no media, no I/O.
        .target(name: "ParleySIP", swiftSettings: strictSwift6),
        // RTP sessions on NIO UDP sockets, the per-loop media clock, prompt players.
        .target(name: "ParleyMedia", dependencies: [
            "ParleyDSP", "ParleyRTP",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: nioSwift5),
        // SIP transport and call handling, configuration, event log: the composition root.
        .target(name: "ParleyServer", dependencies: [
            "ParleySIP", "ParleyMedia", "ParleyDSP", "ParleyRTP",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Yams", package: "Yams"),
        ], swiftSettings: nioSwift5),
        .executableTarget(name: "parley", dependencies: [
            "ParleyServer",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: nioSwift5),

        // Seeded randomness shared by the tests and the jitter-buffer evaluation.
        .target(name: "ParleyTestSupport", path: "Tests/Support"),
        .testTarget(name: "ParleyDSPTests", dependencies: ["ParleyDSP", "CSpanDSP", "ParleyTestSupport"]),
        .testTarget(name: "ParleyRTPTests", dependencies: ["ParleyRTP", "ParleyFuzzChecks", "ParleyTestSupport"]),
        // The checks the fuzz targets run, shared with the corpus replay test.
        .target(name: "ParleyFuzzChecks", dependencies: ["ParleySIP", "ParleyRTP"], path: "Fuzz/ParleyFuzzChecks", swiftSettings: strictSwift6),
        .testTarget(name: "ParleySIPTests", dependencies: ["ParleySIP", "ParleyFuzzChecks", "ParleyTestSupport"]),
        .testTarget(name: "ParleyMediaTests", dependencies: ["ParleyMedia", "ParleyDSP"], swiftSettings: nioSwift5),
        .testTarget(name: "ParleyServerTests", dependencies: ["ParleyServer", "ParleySIP"], swiftSettings: nioSwift5),
    ]
)

// Benchmarks (ordo-one/benchmark) are opt-in: `make bench` sets PARLEY_BENCHMARKS=1 and
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
                "ParleyDSP", "ParleyRTP", "ParleySIP", "ParleyMedia", "CSpanDSP", "CSpeexDSP",
                .product(name: "Benchmark", package: "package-benchmark"),
            ],
            path: "Benchmarks/MediaBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]),
        // Jitter-buffer evaluation: a G.1050-style network model replayed through Parley's
        // buffer and spandsp's play-out buffer side by side (`swift run -c release JitterEval`).
        .executableTarget(
            name: "JitterEval",
            dependencies: ["ParleyDSP", "ParleyRTP", "ParleyMedia", "CSpanDSP", "ParleyTestSupport"],
            path: "Benchmarks/JitterEval"),
    ])
}

// Fuzzing (libFuzzer) is opt-in: scripts/fuzz sets PARLEY_FUZZ=1 and builds with
// -sanitize=fuzzer,address in its own scratch folder. SwiftPM renames an executable's main,
// so a small C driver starts libFuzzer (LLVMFuzzerRunDriver) from the Swift main.
if ProcessInfo.processInfo.environment["PARLEY_FUZZ"] == "1" {
    package.targets.append(contentsOf: [
        .target(name: "CParleyFuzzDriver", path: "Fuzz/CParleyFuzzDriver"),
        .executableTarget(name: "ParleyFuzz", dependencies: ["ParleyRTP", "ParleyFuzzChecks", "CParleyFuzzDriver"], path: "Fuzz/ParleyFuzz",
                          swiftSettings: strictSwift6),
    ])
}
