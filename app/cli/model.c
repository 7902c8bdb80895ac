/* model.c: `attnviz model info DIR`, the architecture of a model folder as attnviz
 * read it (model_describe: family, L, NH and the key/value heads, sizes, norm, MLP,
 * position encoding, LM head, biases, dtype on disk, tokenizer), with how long the
 * folder took to open and the process's peak memory beside the float32 weights. */
#define _DEFAULT_SOURCE
#include <cjson/cJSON.h>
#include <string.h>
#include <sys/resource.h>

#include "cli/cli.h"
#include "bpe.h"
#include "cli/commands.h"
#include "device.h"

/* Peak resident memory of this process so far, in bytes (Linux reports KiB). */
static double peak_rss_bytes(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (double)ru.ru_maxrss * 1024.0;
}

/* model_describe's "name: value" lines as a JSON object. */
static cJSON *describe_json(const char *text) {
    cJSON *j = cJSON_CreateObject();
    char line[512];
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len >= sizeof line) len = sizeof line - 1;
        memcpy(line, p, len);
        line[len] = '\0';
        char *colon = strchr(line, ':');
        if (colon) {
            *colon = '\0';
            const char *v = colon + 1;
            while (*v == ' ') v++;
            cJSON_AddStringToObject(j, line, v);
        }
        p += len + (nl != NULL);
    }
    return j;
}

/* Where the first token comes from (app/device.c, open_tokenizer): "none" when nothing
 * is prepended. */
static const char *first_token_source(const Engine *e) {
    if (e->tok.bos_id < 0) return "none";
    if (e->tok.kind == TOKENIZER_WORD) return "vocab.json's <bos>";
    return e->tok.bos_id == bpe_bos_id(e->tok.bpe) ? "the tokenizer's files"
                                                   : "config.json's bos_token_id";
}

static int model_info(const char *dir, int json) {
    AvzErr err;
    Engine e;
    double t0 = avz_now();
    AvzCode rc = engine_open(&e, dir, "cpu", NULL, err);
    int bare = 0;   /* weights without a tokenizer: the architecture can still be told */
    if (rc == AVZ_ERR_INPUT && strstr(err, "no tokenizer")) {
        fprintf(stderr, "note: %s\n", err);
        memset(&e, 0, sizeof e);
        rc = model_load(&e.model, dir, err);
        bare = 1;
    }
    if (rc) return cmd_error(rc, err);
    double secs = avz_now() - t0, peak = peak_rss_bytes();
    double weights = 4.0 * (double)e.model.num_parameters;
    const ModelConfig *c = &e.model.cfg;
    char desc[4096];
    model_describe(&e.model, desc, sizeof desc);
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "model", dir);
        cJSON_AddItemToObject(j, "describe", describe_json(desc));
        cJSON_AddNumberToObject(j, "n_layer", c->n_layer);
        cJSON_AddNumberToObject(j, "n_head", c->n_head);
        cJSON_AddNumberToObject(j, "n_kv_head", c->n_kv_head);
        cJSON_AddNumberToObject(j, "head_dim", c->head_dim);
        cJSON_AddNumberToObject(j, "n_embd", c->n_embd);
        cJSON_AddNumberToObject(j, "vocab_size", c->vocab_size);
        cJSON_AddNumberToObject(j, "n_positions", c->n_positions);
        cJSON_AddStringToObject(j, "position_encoding", pe_name(c->pe));
        cJSON_AddStringToObject(j, "tokenizer", bare ? "none" : tokenizer_kind_name(&e.tok));
        if (!bare) {
            cJSON_AddNumberToObject(j, "first_token_id", e.tok.bos_id);
            cJSON_AddStringToObject(j, "first_token_from", first_token_source(&e));
        }
        if (c->hf) {
            cJSON_AddNumberToObject(j, "bos_token_id", c->bos_id);
            cJSON_AddNumberToObject(j, "eos_token_id", c->eos_id);
        }
        cJSON_AddNumberToObject(j, "parameters", (double)e.model.num_parameters);
        cJSON_AddNumberToObject(j, "open_seconds", secs);
        cJSON_AddNumberToObject(j, "peak_rss_bytes", peak);
        cJSON_AddNumberToObject(j, "weights_f32_bytes", weights);
        char *txt = cJSON_Print(j);
        printf("%s\n", txt);
        free(txt);
        cJSON_Delete(j);
    } else {
        printf("model: %s\n%s", dir, desc);
        if (!bare && e.tok.bos_id >= 0) {
            char label[64];
            engine_label(&e, e.tok.bos_id, label, sizeof label);
            printf("first token: %d %s (from %s)\n", e.tok.bos_id, label, first_token_source(&e));
        } else if (!bare) {
            printf("first token: none (neither the tokenizer nor config.json names one)\n");
        }
        if (c->hf)
            printf("config ids: bos_token_id %d, eos_token_id %d (-1: absent; eos is not used: "
                   "attnviz does not generate text)\n", c->bos_id, c->eos_id);
        printf("opened in %.2f s (reading, converting to float32, tokenizer); peak memory of "
               "this process %.1f MB = %.2f x the float32 weights\n", secs, peak / 1e6,
               weights > 0 ? peak / weights : 0.0);
    }
    if (bare) model_free(&e.model);
    else engine_close(&e);
    return 0;
}

int cmd_model(int argc, char **argv) {
    int json = 0;
    CliOpt opts[] = {{"--json", OPT_FLAG, &json, NULL, "machine-readable output", 0}};
    CliCommand cmd = {"model", "info DIR [--json]",
                      "Prints the architecture of the model folder DIR as attnviz read it "
                      "(a Hugging Face GPT-2, Llama,\nQwen2 or Mistral folder, or attnviz's own), "
                      "how long it took to open, and the peak memory.",
                      opts, sizeof opts / sizeof opts[0]};
    /* the action and the folder come first: attnviz model info DIR [options] */
    if (argc >= 3 && strcmp(argv[2], "info") != 0 && argv[2][0] != '-')
        return cmd_error(2, "model: unknown action (use: attnviz model info DIR)");
    int info = argc >= 3 && strcmp(argv[2], "info") == 0;
    int has_dir = info && argc >= 4 && argv[3][0] != '-';
    int first = has_dir ? 4 : info ? 3 : 2;
    AvzErr err;
    int rc = cli_parse(&cmd, argc, argv, first, err);
    if (rc == -1) return 0;          /* --help, or the manual page's describe mode */
    if (rc) return cmd_error(2, err);
    if (!has_dir) return cmd_error(2, "model info: the model folder is required "
                                        "(attnviz model info DIR)");
    return model_info(argv[3], json);
}
