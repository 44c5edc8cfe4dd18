import CParleyFuzzDriver
#if canImport(Glibc)
import Glibc
#endif

if let target = getenv("PARLEY_FUZZ_TARGET") { fuzzTarget = String(cString: target) }

// SwiftPM renames an executable's main, so libFuzzer's own main() is not used: this one
// hands the command line to libFuzzer's driver (LLVMFuzzerRunDriver) instead.
let status = parley_fuzz_run(CommandLine.argc, CommandLine.unsafeArgv)
precondition(status == 0, "libFuzzer exited with status \(status)")
