/* test_cli_input.c: the text a command runs on (app/cli/text_input.c): --text,
 * --text-file and stdin give the same tokens on every command that takes a text;
 * invalid UTF-8 is named by line and byte, an empty text and a too-long one are
 * errors, both options together are an error; `attnviz tokenize` and the --json of
 * every command that prints results. Runs the built binary ($AVZ_BIN). */
#define _DEFAULT_SOURCE
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cli/text_input.h"
#include "cli_run.h"
#include "helpers.h"

/* A fixture file in a fresh temp folder: its path into path. */
static void fixture(char *path, size_t len, const char *name, const void *data, size_t n) {
    char dir[64];
    helper_tmpdir(dir, sizeof dir);
    snprintf(path, len, "%s/%s", dir, name);
    cli_write_file(path, data, n);
}

/* The tokens of `tokenize --json` output as "id:text:start:len," for comparing. */
static void token_list(const char *json, char *out, size_t len) {
    cJSON *j = cJSON_Parse(json);
    cr_assert(j, "not JSON: %s", json);
    size_t k = 0;
    out[0] = '\0';
    cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(j, "tokens")) {
        k += (size_t)snprintf(out + k, len - k, "%d:%s:%d:%d,",
                              cJSON_GetObjectItem(t, "id")->valueint,
                              cJSON_GetObjectItem(t, "text")->valuestring,
                              cJSON_GetObjectItem(t, "byte_start")->valueint,
                              cJSON_GetObjectItem(t, "byte_len")->valueint);
    }
    cJSON_Delete(j);
}

/* ---- the checker itself, in-process ------------------------------------------------ */

Test(cli_input, faults_are_found_at_their_line_and_byte) {
    struct {
        const char *s;
        int line, byte;
        const char *what;
    } cases[] = {
        {"ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0, 0, NULL},    /* é € 😀: clean */
        {"ab\n\xc3\x28", 2, 1, "invalid UTF-8 (0xC3 0x28)"},           /* bad continuation */
        {"x\n\ny \x80", 3, 3, "invalid UTF-8 (0x80)"},                /* stray continuation */
        {"\xc0\xaf", 1, 1, "invalid UTF-8 (0xC0)"},                   /* overlong lead */
        {"\xe0\x80\x80", 1, 1, "invalid UTF-8 (0xE0 0x80)"},          /* overlong 3-byte */
        {"a\xed\xa0\x80", 1, 2, "invalid UTF-8 (0xED 0xA0)"},         /* a surrogate */
        {"\xf4\x90\x80\x80", 1, 1, "invalid UTF-8 (0xF4 0x90)"},      /* past U+10FFFF */
        {"abc\xe2\x82", 1, 4, "invalid UTF-8 (0xE2 0x82, cut short)"}, /* cut by the end */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TextFault f;
        int bad = text_find_fault(cases[i].s, strlen(cases[i].s), &f);
        cr_assert_eq(bad, cases[i].what != NULL, "case %zu", i);
        if (!bad) continue;
        cr_assert(f.line == cases[i].line && f.byte == cases[i].byte && !strcmp(f.what, cases[i].what),
                  "case %zu: line %d byte %d '%s'", i, f.line, f.byte, f.what);
    }
    TextFault f;
    cr_assert(text_find_fault("a\0b", 3, &f) && f.byte == 2 && strstr(f.what, "NUL"));
}

/* ---- the same text by every path ------------------------------------------------- */

Test(cli_input, argument_file_and_stdin_give_the_same_tokens) {
    const char *text = "Marie Curie said: she was tired.";
    char path[128], want[4096], got[4096];
    cr_assert_eq(cli_run("tokenize --json --text '%s'", text), 0, "%s", cli_err);
    token_list(cli_out, want, sizeof want);
    cr_assert(strstr(want, ":marie:0:5,"), "%s", want);
    /* a file with a byte-order mark and a trailing newline (dropped, as "$(cat)" does) */
    char body[256];
    int n = snprintf(body, sizeof body, "\xEF\xBB\xBF%s\r\n\n", text);
    fixture(path, sizeof path, "notes.txt", body, (size_t)n);
    cr_assert_eq(cli_run("tokenize --json --text-file %s", path), 0, "%s", cli_err);
    token_list(cli_out, got, sizeof got);
    cr_assert_str_eq(got, want);
    cr_assert_eq(cli_run_input(body, (size_t)n, "tokenize --json --text -"), 0, "%s", cli_err);
    token_list(cli_out, got, sizeof got);
    cr_assert_str_eq(got, want);
    cr_assert_eq(cli_run_input(body, (size_t)n, "tokenize --json --text-file -"), 0, "%s", cli_err);
    token_list(cli_out, got, sizeof got);
    cr_assert_str_eq(got, want);
}

/* Every command that takes --text takes --text-file too (read from each --help), and
 * runs on it. */
Test(cli_input, every_command_with_text_takes_text_file) {
    char dir[128], path[192];
    cli_make_model(dir, sizeof dir, "rope", 16);
    fixture(path, sizeof path, "t.txt", "marie curie said\n", 17);
    const char *cmds[] = {"export", "predict", "ablate", "heads", "permute", "tokenize", "gui"};
    for (int i = 0; i < 7; i++) {
        cr_assert_eq(cli_run("%s --help", cmds[i]), 0);
        cr_assert(strstr(cli_out, "  --text TEXT") && strstr(cli_out, "  --text-file FILE"),
                  "%s --help: %s", cmds[i], cli_out);
    }
    char png[256];
    snprintf(png, sizeof png, "%s/../m.png", dir);
    cr_assert_eq(cli_run("export --model %s --text-file %s --layer 0 --head 1 --out %s", dir,
                         path, png), 0, "%s", cli_err);
    cr_assert(cli_file_exists(png));
    cr_assert_eq(cli_run("predict --model %s --text-file %s", dir, path), 0, "%s", cli_err);
    cr_assert(strstr(cli_out, "next token after \"said\""), "%s", cli_out);
    cr_assert_eq(cli_run("ablate --model %s --text-file %s --heads 0.1", dir, path), 0, "%s", cli_err);
    cr_assert_eq(cli_run("heads --model %s --text-file %s", dir, path), 0, "%s", cli_err);
    cr_assert_eq(cli_run("permute --model %s --text-file %s", dir, path), 0, "%s", cli_err);
    cr_assert_eq(cli_run_input("she was tired", 13, "predict --model %s --text -", dir), 0,
                 "%s", cli_err);
    cr_assert(strstr(cli_out, "next token after \"tired\""), "%s", cli_out);
    /* gui checks its text before it opens a window */
    char bad[192];
    fixture(bad, sizeof bad, "bad.txt", "ok\n\xff\n", 4);
    cr_assert_eq(cli_run("gui --model %s --text-file %s", dir, bad), 2);
    cr_assert(strstr(cli_err, "bad.txt: line 2, byte 1: invalid UTF-8 (0xFF)"), "%s", cli_err);
}

/* ---- errors ---------------------------------------------------------------------- */

Test(cli_input, invalid_utf8_names_the_line_and_byte) {
    char path[128];
    const char body[] = "line one\nline two\nabc def \xc3\x28 x\n";
    fixture(path, sizeof path, "notes.txt", body, sizeof body - 1);
    cr_assert_eq(cli_run("predict --text-file %s", path), 2);
    char want[256];
    snprintf(want, sizeof want, "attnviz: %s: line 3, byte 9: invalid UTF-8 (0xC3 0x28)\n", path);
    cr_assert_str_eq(cli_err, want);
    cr_assert_eq(cli_run_input(body, sizeof body - 1, "export --text - --all --out /tmp/x.png"), 2);
    cr_assert(strstr(cli_err, "stdin: line 3, byte 9: invalid UTF-8 (0xC3 0x28)"), "%s", cli_err);
    cr_assert_eq(cli_run("tokenize --text \"$(printf 'caf\\351 au lait')\""), 2);
    cr_assert(strstr(cli_err, "--text: line 1, byte 4: invalid UTF-8 (0xE9 0x20)"), "%s", cli_err);
    cr_assert_eq(cli_run_input("a\0b", 3, "heads --text -"), 2);
    cr_assert(strstr(cli_err, "stdin: line 1, byte 2: a NUL byte"), "%s", cli_err);
}

Test(cli_input, an_empty_text_is_an_error) {
    char path[128];
    fixture(path, sizeof path, "empty.txt", "", 0);
    cr_assert_eq(cli_run("predict --text-file %s", path), 2);
    cr_assert(strstr(cli_err, "empty.txt: the text is empty"), "%s", cli_err);
    fixture(path, sizeof path, "blank.txt", " \n\t\n\n", 5);
    cr_assert_eq(cli_run("tokenize --text-file %s", path), 2);
    cr_assert(strstr(cli_err, "blank.txt: the text is empty"), "%s", cli_err);
    cr_assert_eq(cli_run_input("\n", 1, "ablate --text - --heads 0.0"), 2);
    cr_assert(strstr(cli_err, "stdin: the text is empty"), "%s", cli_err);
    cr_assert_eq(cli_run("permute --text ''"), 2);
    cr_assert(strstr(cli_err, "--text: the text is empty"), "%s", cli_err);
}

Test(cli_input, a_text_past_the_length_limit_is_refused_with_both_numbers) {
    char dir[128], path[192], long_text[512] = "";
    cli_make_model(dir, sizeof dir, "learned", 16);   /* a learned table of 16 positions */
    for (int i = 0; i < 10; i++) strcat(long_text, "the cat\n");
    fixture(path, sizeof path, "long.txt", long_text, strlen(long_text));
    cr_assert_eq(cli_run("tokenize --model %s --text-file %s", dir, path), 2);
    cr_assert(strstr(cli_err, "21 tokens long") && strstr(cli_err, "at most 16"), "%s", cli_err);
    cr_assert_eq(cli_run("export --model %s --text-file %s --all --out %s.png", dir, path, path), 2);
    cr_assert(strstr(cli_err, "at most 16"), "%s", cli_err);
    cr_assert_eq(cli_run_input(long_text, strlen(long_text), "predict --model %s --text -", dir), 2);
    cr_assert(strstr(cli_err, "at most 16"), "%s", cli_err);
}

Test(cli_input, both_options_missing_files_and_folders_are_named) {
    char path[128];
    fixture(path, sizeof path, "t.txt", "hi", 2);
    cr_assert_eq(cli_run("predict --text hi --text-file %s", path), 2);
    cr_assert(strstr(cli_err, "--text") && strstr(cli_err, "--text-file") &&
              strstr(cli_err, "not both"), "%s", cli_err);
    cr_assert_eq(cli_run("export --text hi --texts %s --all --out /tmp/x/", path), 2);
    cr_assert(strstr(cli_err, "--text and --texts"), "%s", cli_err);
    cr_assert_eq(cli_run("tokenize --text-file /nonexistent/notes.txt"), 2);
    cr_assert(strstr(cli_err, "/nonexistent/notes.txt: cannot open"), "%s", cli_err);
    cr_assert_eq(cli_run("tokenize --text-file /tmp"), 2);
    cr_assert(strstr(cli_err, "/tmp: is a folder"), "%s", cli_err);
    cr_assert_eq(cli_run("tokenize"), 2);
    cr_assert(strstr(cli_err, "--text or --text-file is required"), "%s", cli_err);
}

/* ---- tokenize and --json ------------------------------------------------------------ */

Test(cli_input, tokenize_table_and_json) {
    char dir[128];
    cli_make_model(dir, sizeof dir, "rope", 16);
    const char *text = "Marie zzz said \"she\"";
    cr_assert_eq(cli_run("tokenize --model %s --text '%s'", dir, text), 0, "%s", cli_err);
    cr_assert(strstr(cli_out, "7 tokens, 3 unknown") && strstr(cli_out, "byte_start"), "%s", cli_out);
    cr_assert(strstr(cli_out, "yes  \"zzz\"") && strstr(cli_out, "\"\\\"\""), "%s", cli_out);
    cr_assert(strstr(cli_err, "unknown word") && strstr(cli_err, "zzz"), "%s", cli_err);
    cr_assert_eq(cli_run("tokenize --model %s --text '%s' --json", dir, text), 0, "%s", cli_err);
    cJSON *j = cJSON_Parse(cli_out);
    cr_assert(j, "not JSON: %s", cli_out);
    cr_assert(strstr(cJSON_GetObjectItem(j, "model")->valuestring, "model"));
    cJSON *toks = cJSON_GetObjectItem(j, "tokens");
    cr_assert_eq(cJSON_GetArraySize(toks), 7);
    int i = 0;
    cJSON *t;
    cJSON_ArrayForEach(t, toks) {
        cr_assert_eq(cJSON_GetObjectItem(t, "i")->valueint, i);
        int start = cJSON_GetObjectItem(t, "byte_start")->valueint;
        int len = cJSON_GetObjectItem(t, "byte_len")->valueint;
        const char *piece = cJSON_GetObjectItem(t, "text")->valuestring;
        if (i == 0) {
            cr_assert(start == -1 && len == 0 && !strcmp(piece, "<bos>"));
        } else {   /* the span is the piece as typed (the word tokenizer lowercases) */
            cr_assert(start >= 0 && start + len <= (int)strlen(text));
            cr_assert(strncasecmp(text + start, piece, (size_t)len) == 0 && (int)strlen(piece) == len,
                      "token %d '%s' vs bytes %d+%d", i, piece, start, len);
        }
        cr_assert(cJSON_IsBool(cJSON_GetObjectItem(t, "unknown")));
        i++;
    }
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(toks, 2), "unknown")));
    cJSON_Delete(j);
}

/* Every command that prints results has --json, and what it prints parses. */
Test(cli_input, every_result_command_has_json) {
    char dir[128], out[256], models[256];
    cli_make_model(dir, sizeof dir, "alibi", 16);
    const char *cmds[] = {"predict", "ablate", "heads", "permute", "lengths", "tokenize",
                          "export", "init", "bench"};
    for (int i = 0; i < 9; i++) {
        cr_assert_eq(cli_run("%s --help", cmds[i]), 0);
        cr_assert(strstr(cli_out, "  --json"), "%s has no --json: %s", cmds[i], cli_out);
    }
    snprintf(out, sizeof out, "%s/../grid.npy", dir);
    cr_assert_eq(cli_run("export --model %s --text 'she was tired' --all --out %s --json", dir,
                         out), 0, "%s", cli_err);
    cJSON *j = cJSON_Parse(cli_out);
    cr_assert(j, "not JSON: %s", cli_out);
    cJSON *shape = cJSON_GetObjectItem(j, "shape");
    cr_assert_str_eq(cJSON_GetObjectItem(j, "file")->valuestring, out);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "format")->valuestring, "npy");
    cr_assert(cJSON_GetArraySize(shape) == 4 && cJSON_GetArrayItem(shape, 2)->valueint == 4);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "tokens")), 4);
    cJSON_Delete(j);
    /* lengths on a folder of one model */
    snprintf(models, sizeof models, "%s", dir);
    *strrchr(models, '/') = '\0';   /* the temp folder holding model/ */
    char alibi[300];
    snprintf(alibi, sizeof alibi, "%s/alibi", models);
    cr_assert_eq(rename(dir, alibi), 0);
    cr_assert_eq(cli_run("lengths --models %s --max 20 --seqs 2 --bucket 8 --device cpu --json",
                         models), 0, "%s", cli_err);
    j = cJSON_Parse(cli_out);
    cr_assert(j, "not JSON: %s", cli_out);
    cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "models"), 0);
    cr_assert_str_eq(cJSON_GetObjectItem(m, "name")->valuestring, "alibi");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(m, "loss")), 20);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(m, "buckets")), 3);
    double l5 = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "loss"), 5)->valuedouble;
    cr_assert(l5 > 0 && l5 < 20, "loss in nats: %g", l5);
    cJSON_Delete(j);
    /* init */
    char vocab[300], fresh[300];
    snprintf(vocab, sizeof vocab, "%s/words.txt", models);
    snprintf(fresh, sizeof fresh, "%s/fresh", models);
    cr_assert_eq(cli_run("init --pe rope --vocab %s --out %s --layers 1 --heads 2 --embd 16 "
                         "--json", vocab, fresh), 0, "%s", cli_err);
    j = cJSON_Parse(cli_out);
    cr_assert(j, "not JSON: %s", cli_out);
    cr_assert_eq(cJSON_GetObjectItem(j, "n_head")->valueint, 2);
    cr_assert_eq(cJSON_GetObjectItem(j, "vocab_size")->valueint, 13);
    cr_assert(cJSON_GetObjectItem(j, "parameters")->valuedouble > 0);
    cJSON_Delete(j);
}
