/* fuzz_targets.h: the bodies of attnviz's fuzz targets. Each takes arbitrary bytes
 * and must never crash, leak or read out of bounds, whatever they hold. They are
 * driven by libFuzzer (`make fuzz`) and replayed over the saved corpora and every
 * past crash by tests/test_fuzz_replay.c in `make test`. */
#ifndef AVZ_FUZZ_TARGETS_H
#define AVZ_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

int fuzz_safetensors(const uint8_t *data, size_t size);  /* header + tensor table */
int fuzz_config(const uint8_t *data, size_t size);       /* config.json */
int fuzz_vocab(const uint8_t *data, size_t size);        /* vocab.json */
int fuzz_tokenizer(const uint8_t *data, size_t size);    /* the tokenizer on any bytes */
int fuzz_script(const uint8_t *data, size_t size);       /* the app's script language */
int fuzz_hf_config(const uint8_t *data, size_t size);    /* a Hugging Face config.json */
int fuzz_index(const uint8_t *data, size_t size);        /* model.safetensors.index.json */

#endif
