#ifndef MUSTER_FUZZ_DRIVER_H
#define MUSTER_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// The per-input callback libFuzzer calls.
typedef int (*fuzz_driver_callback)(const uint8_t *data, size_t size);

/// 1 when libFuzzer is linked in (the build used `-sanitize=fuzzer`), else 0.
int fuzz_driver_available(void);

/// Hands the process to libFuzzer (`LLVMFuzzerRunDriver`) with the command line; returns its exit status.
/// Only call when `fuzz_driver_available()` is 1.
int fuzz_driver_run(int *argc, char ***argv, fuzz_driver_callback callback);

#endif
