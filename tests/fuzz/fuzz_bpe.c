/* fuzz_bpe.c: libFuzzer target for the BPE tokenizers (model/bpe.c and its loaders).
 *
 * The first byte picks what the rest is:
 *   odd:  a tokenizer.json: load it; if it loads, encode a few texts and label every id;
 *   even: a text, encoded by two small built-in tokenizers that use every feature the
 *         real files use and more (byte-level with a split regex and ignore_merges;
 *         normalizer + Metaspace with byte_fallback, unk, fuse_unk; added tokens with
 *         lstrip, rstrip, single_word, normalized).
 * Whatever the bytes, nothing may crash, leak or read out of bounds, and every token
 * span must lie inside the text (abort otherwise, which libFuzzer reports).
 * test_bpe.c includes this file (with BPE_FUZZ_NO_MAIN) to replay the saved corpus in
 * tests/fuzz/corpus/bpe/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"

static const char FUZZ_BYTELEVEL[] =
    "{\"added_tokens\": [{\"id\": 9, \"content\": \"<|x|>\", \"special\": true, \"lstrip\": true},"
    " {\"id\": 10, \"content\": \"ab\", \"single_word\": true, \"rstrip\": true}],"
    " \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\","
    " \"pattern\": {\"Regex\": \"(?i:'s|'t)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}|"
    " ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},"
    " \"behavior\": \"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\","
    " \"add_prefix_space\": true, \"use_regex\": true}]},"
    " \"post_processor\": {\"type\": \"RobertaProcessing\", \"cls\": [\"<|x|>\", 9],"
    " \"sep\": [\"a\", 0]}, \"decoder\": {\"type\": \"ByteLevel\"},"
    " \"model\": {\"type\": \"BPE\", \"ignore_merges\": true, \"vocab\": {\"a\": 0, \"b\": 1,"
    " \"\\u0120\": 2, \"\\u0120a\": 3, \"ab\": 4, \"\\u0120ab\": 5, \"'\": 6, \"s\": 7, \"'s\": 8},"
    " \"merges\": [\"a b\", \"\\u0120 a\", \"\\u0120a b\", [\"'\", \"s\"]]}}";

static const char FUZZ_METASPACE[] =
    "{\"added_tokens\": [{\"id\": 0, \"content\": \"<unk>\", \"special\": true},"
    " {\"id\": 9, \"content\": \"x y\", \"normalized\": true}],"
    " \"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Replace\","
    " \"pattern\": {\"Regex\": \"\\\\s+\"}, \"content\": \" \"}, {\"type\": \"Prepend\","
    " \"prepend\": \"\\u2581\"}]},"
    " \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"\\u2581\","
    " \"prepend_scheme\": \"first\", \"split\": true},"
    " \"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\":"
    " {\"id\": \"<unk>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}},"
    " {\"SpecialToken\": {\"id\": \"<unk>\", \"type_id\": 0}}], \"special_tokens\": {\"<unk>\":"
    " {\"id\": \"<unk>\", \"ids\": [0], \"tokens\": [\"<unk>\"]}}},"
    " \"decoder\": {\"type\": \"Metaspace\"},"
    " \"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"fuse_unk\": true,"
    " \"byte_fallback\": true, \"vocab\": {\"<unk>\": 0, \"\\u2581\": 1, \"a\": 2, \"\\u2581a\": 3,"
    " \"<0x41>\": 4, \"<0xE2>\": 5, \"<0x80>\": 6, \"<0xFF>\": 7, \"b\": 8},"
    " \"merges\": [\"\\u2581 a\"]}}";

/* Encodes text with b (both settings), checks every span and labels every token. */
static void fuzz_encode(const Bpe *b, const char *text, size_t len) {
    char err[AVZ_ERR_LEN], buf[64];
    for (int special = 0; special < 2; special++) {
        BpeTokens t = {0};
        if (bpe_encode(b, text, len, special, &t, err) == AVZ_OK) {
            for (int i = 0; i < t.n; i++) {
                if (t.byte_start[i] < 0 || t.byte_len[i] < 0 ||
                    (size_t)t.byte_start[i] + (size_t)t.byte_len[i] > len || t.ids[i] < 0 ||
                    t.ids[i] >= bpe_vocab_size(b))
                    abort();
                bpe_label(b, t.ids[i], buf, sizeof buf);
            }
        }
        bpe_tokens_free(&t);
    }
}

static int fuzz_json(const uint8_t *data, size_t size) {
    static const char *texts[] = {"Hello world's <s> 12345\n\n  x",
                                  "\xE2\x96\x81\xF0\x9F\x98\x80\xFF", ""};
    char err[AVZ_ERR_LEN], buf[64];
    Bpe *b;
    if (bpe_load_hf_mem(&b, (const char *)data, size, "fuzz/tokenizer.json", err) != AVZ_OK)
        return 0;
    for (int i = 0; i < 3; i++) fuzz_encode(b, texts[i], strlen(texts[i]));
    fuzz_encode(b, (const char *)data, size < 256 ? size : 256);
    int n = bpe_vocab_size(b);
    for (int id = -1; id <= n && id < 5000; id++) {
        bpe_label(b, id, buf, sizeof buf);
        const char *p = bpe_piece(b, id);
        if (p && bpe_piece_to_id(b, p) < 0) abort();
    }
    bpe_free(b);
    return 0;
}

int fuzz_bpe(const uint8_t *data, size_t size) {
    static Bpe *tok[2];
    static int ready;
    if (size == 0) return 0;
    if (data[0] & 1) return fuzz_json(data + 1, size - 1);
    if (!ready) {
        char err[AVZ_ERR_LEN];
        const char *src[2] = {FUZZ_BYTELEVEL, FUZZ_METASPACE};
        for (int i = 0; i < 2; i++)
            if (bpe_load_hf_mem(&tok[i], src[i], strlen(src[i]), "fuzz", err) != AVZ_OK) {
                fprintf(stderr, "fuzz_bpe: built-in tokenizer %d: %s\n", i, err);
                abort();
            }
        ready = 1;
    }
    for (int i = 0; i < 2; i++) fuzz_encode(tok[i], (const char *)data + 1, size - 1);
    return 0;
}

#ifndef BPE_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_bpe(data, size); }
#endif
