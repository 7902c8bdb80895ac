/* fuzz_hf_config.c: libFuzzer entry point for fuzz_hf_config (see fuzz_targets.h). */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_hf_config(data, size);
}
