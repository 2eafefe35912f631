#include "FuzzDriver.h"

// libFuzzer's entry point for programs that keep their own `main` (LLVM 11+). Weak, so that the fuzz targets also
// link in an ordinary build without `-sanitize=fuzzer`, where it resolves to null and the targets replay files.
//
// SwiftPM links every executable target with `--defsym main=<Module>_main` (testable executables), so libFuzzer's
// own `main` can never be the entry point; the targets' main calls this instead.
extern int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *, size_t)) __attribute__((weak));

int fuzz_driver_available(void) { return LLVMFuzzerRunDriver != NULL; }

int fuzz_driver_run(int *argc, char ***argv, fuzz_driver_callback callback) {
    return LLVMFuzzerRunDriver(argc, argv, callback);
}
