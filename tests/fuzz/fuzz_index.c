/* fuzz_index.c: libFuzzer entry point for fuzz_index (see fuzz_targets.h). */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_index(data, size);
}
