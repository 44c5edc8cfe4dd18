#include <stddef.h>
#include <stdint.h>
#include "CParleyFuzzDriver.h"

// Both provided at link time: libFuzzer (-sanitize=fuzzer) and the Swift entry point.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int parley_fuzz_run(int argc, char **argv) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}
