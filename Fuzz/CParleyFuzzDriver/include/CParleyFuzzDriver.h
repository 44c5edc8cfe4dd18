#pragma once

/// Runs libFuzzer's driver over LLVMFuzzerTestOneInput (defined in Swift with @_cdecl).
int parley_fuzz_run(int argc, char **argv);
