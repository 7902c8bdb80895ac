/* init.c: `attnviz init`, a randomly initialised model folder (used by the tests). */
#include <cjson/cJSON.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "model.h"


/* ---- init: a random model folder ------------------------------------------------- */

/* A vocabulary from a vocab.json, or from a text file of one word per line (then
 * <bos> and <unk> are added first if missing). */
static AvzCode load_vocab_file(const char *path, Vocab *v, char *err) {
    char *txt = avz_read_file(path, NULL, err);
    if (!txt) return AVZ_ERR_INPUT;
    const char *p = txt;
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
    AvzCode rc;
    if (*p == '{') {
        rc = vocab_parse(v, txt, path, err);
    } else {
        int cap = 16, n = 0;
        const char **words = avz_xmalloc(sizeof(char *) * cap);
        words[n++] = "<bos>";
        words[n++] = "<unk>";
        for (char *line = strtok(txt, "\r\n"); line; line = strtok(NULL, "\r\n")) {
            if (!*line || !strcmp(line, "<bos>") || !strcmp(line, "<unk>")) continue;
            if (n == cap) words = realloc(words, sizeof(char *) * (cap *= 2));
            AVZ_ASSERT(words);
            words[n++] = line;
        }
        rc = vocab_from_words(v, words, n, err);
        free(words);
    }
    free(txt);
    return rc;
}

int cmd_init(int argc, char **argv) {
    const char *pe = NULL, *vocab = NULL, *out = NULL;
    int layers = 2, heads = 4, embd = 64, positions = 64, seed = 1, json_out = 0;
    float theta = 10000.0f;
    CliOpt opts[] = {
        {"--pe", OPT_STR, &pe, "PE", "none|sinusoidal|learned|rope|alibi (required)", 0},
        {"--layers", OPT_INT, &layers, "N", "transformer blocks (default 2)", 0},
        {"--heads", OPT_INT, &heads, "N", "heads per block (default 4)", 0},
        {"--embd", OPT_INT, &embd, "N", "width C (default 64)", 0},
        {"--positions", OPT_INT, &positions, "N", "training context n_positions (default 64)", 0},
        {"--rope-theta", OPT_FLOAT, &theta, "X", "RoPE base (default 10000)", 0},
        {"--vocab", OPT_STR, &vocab, "FILE", "vocab.json or a word list (required)", 0},
        {"--seed", OPT_INT, &seed, "S", "random seed (default 1)", 0},
        {"--out", OPT_STR, &out, "DIR", "model folder to write (required)", 0},
        {"--json", OPT_FLAG, &json_out, NULL, "machine-readable summary of what was written", 0}};
    CliCommand cmd = {"init", "--pe PE --vocab FILE --out DIR [--layers N --heads N --embd N "
                      "--positions N --seed S]",
                      "Writes a randomly initialised model folder.", opts,
                      sizeof opts / sizeof opts[0]};
    AvzErr err;
    int rc = cli_begin(&cmd, argc, argv);
    if (rc >= 0) return rc;
    rc = 0;
    if (!pe || !vocab || !out)
        return cmd_error(2, "attnviz init: --pe, --vocab and --out are required");
    char json[512];
    snprintf(json, sizeof json, "{\"n_layer\": %d, \"n_head\": %d, \"n_embd\": %d, "
             "\"n_positions\": %d, \"vocab_size\": 1, \"position_encoding\": \"%s\", "
             "\"rope_theta\": %g}", layers, heads, embd, positions, pe, theta);
    ModelConfig cfg;
    if ((rc = config_parse(&cfg, json, "attnviz init", err))) return cmd_error(rc, err);
    Vocab v;
    if ((rc = load_vocab_file(vocab, &v, err))) return cmd_error(rc, err);
    cfg.vocab_size = v.n;
    Model m;
    if ((rc = model_create(&m, &cfg, &v, err))) { vocab_free(&v); return cmd_error(rc, err); }
    model_init_random(&m, (uint64_t)seed);
    rc = model_save(&m, out, err);
    if (!rc && json_out) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "out", out);
        cJSON_AddStringToObject(j, "position_encoding", pe_name(cfg.pe));
        cJSON_AddNumberToObject(j, "n_layer", layers);
        cJSON_AddNumberToObject(j, "n_head", heads);
        cJSON_AddNumberToObject(j, "n_embd", embd);
        cJSON_AddNumberToObject(j, "n_positions", positions);
        cJSON_AddNumberToObject(j, "vocab_size", cfg.vocab_size);
        cJSON_AddNumberToObject(j, "parameters", (double)m.num_parameters);
        char *txt = cJSON_Print(j);
        printf("%s\n", txt);
        free(txt);
        cJSON_Delete(j);
    } else if (!rc) {
        printf("wrote %s: %s, %d layers x %d heads, C=%d, %zu parameters\n", out,
               pe_name(cfg.pe), layers, heads, embd, m.num_parameters);
    }
    model_free(&m);
    return rc ? cmd_error(rc, err) : 0;
}
