/* cmd_model.c: the subcommands that run the model and print numbers: predict,
 * ablate, heads (the importance sweep) and init (a random model folder). */
#include <cjson/cJSON.h>
#include <string.h>

#include "ablate.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/roles.h"
#include "session.h"

int cmd_error(int code, const char *err) {
    fprintf(stderr, "attnviz: %s\n", err);
    return code;
}

/* Common options of the commands that run a model on a text. */
typedef struct {
    const char *model, *text, *device, *attention;
    int json;
} RunArgs;

#define RUN_OPTS(a)                                                                       \
    {"--model", OPT_STR, &(a).model, "DIR", "model folder (default: the shipped rope model)", 0}, \
    {"--text", OPT_STR, &(a).text, "TEXT", "the text to run (required)", 0},               \
    {"--device", OPT_STR, &(a).device, "auto|cpu|cuda", "where to compute (default auto)", 0}, \
    {"--attention", OPT_STR, &(a).attention, "flash|naive", "attention algorithm (default flash)", 0}, \
    {"--json", OPT_FLAG, &(a).json, NULL, "machine-readable output", 0}

/* Parses, checks --text, opens the session. Returns -1 to continue, else an exit code. */
static int open_run(CliCommand *cmd, int argc, char **argv, RunArgs *a, Session *s) {
    AvzErr err;
    int rc = cli_parse(cmd, argc, argv, 2, err);
    if (rc < 0) return 0;
    if (rc) return cmd_error(2, err);
    if (!a->text && !cli_seen(cmd, "--roles") && !cli_seen(cmd, "--probe") &&
        !cli_seen(cmd, "--behaviour")) {
        snprintf(err, sizeof err, "attnviz %s: --text is required", cmd->name);
        return cmd_error(2, err);
    }
    rc = session_open(s, a->model, a->device, a->attention, a->text, err);
    if (rc) return cmd_error(rc, err);
    session_print_notes(s);
    return -1;
}

static cJSON *json_tokens(const Session *s) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < s->tok.n; i++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "text", s->tok.text[i]);
        cJSON_AddNumberToObject(t, "id", s->tok.ids[i]);
        cJSON_AddBoolToObject(t, "unknown", s->tok.unknown[i]);
        cJSON_AddItemToArray(arr, t);
    }
    return arr;
}

static cJSON *json_header(const Session *s) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", s->model_dir);
    cJSON_AddStringToObject(j, "position_encoding", pe_name(s->eng.model.cfg.pe));
    cJSON_AddStringToObject(j, "device", s->eng.be->device);
    cJSON_AddItemToObject(j, "tokens", json_tokens(s));
    return j;
}

static void json_print(cJSON *j) {
    char *txt = cJSON_Print(j);
    printf("%s\n", txt);
    free(txt);
    cJSON_Delete(j);
}

static cJSON *json_topk(const Vocab *v, const int *ids, const float *p, int k) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < k; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "token", v->words[ids[i]]);
        cJSON_AddNumberToObject(e, "id", ids[i]);
        cJSON_AddNumberToObject(e, "p", p[i]);
        cJSON_AddItemToArray(arr, e);
    }
    return arr;
}

/* ---- predict ----------------------------------------------------------------- */

int cmd_predict(int argc, char **argv) {
    RunArgs a = {0};
    int top = 5;
    CliOpt opts[] = {RUN_OPTS(a), {"--top", OPT_INT, &top, "K", "how many tokens (default 5)", 0}};
    CliCommand cmd = {"predict", "--text TEXT [--model DIR] [--top K] [--json]",
                      "Next-token prediction after the last token of the text.", opts,
                      sizeof opts / sizeof opts[0]};
    Session s;
    int rc = open_run(&cmd, argc, argv, &a, &s);
    if (rc >= 0) return rc;
    AvzErr err;
    if (top < 1 || top > ABLATE_MAX_TOPK) {
        session_close(&s);
        snprintf(err, sizeof err, "attnviz predict: --top must be between 1 and %d",
                 ABLATE_MAX_TOPK);
        return cmd_error(2, err);
    }
    if ((rc = session_forward(&s, err))) { session_close(&s); return cmd_error(rc, err); }
    int V = s.eng.model.cfg.vocab_size, T = s.tok.n, ids[ABLATE_MAX_TOPK];
    float p[ABLATE_MAX_TOPK];
    ablate_topk(model_probs(&s.eng.model) + (size_t)(T - 1) * V, V, top, ids, p);
    if (a.json) {
        cJSON *j = json_header(&s);
        cJSON_AddItemToObject(j, "next", json_topk(&s.eng.model.vocab, ids, p, top));
        json_print(j);
    } else {
        char desc[256];
        session_describe(&s, desc, sizeof desc);
        printf("model: %s (%s) on %s\n", s.model_dir, desc, s.eng.be->device);
        printf("next token after \"%s\":\n", s.tok.text[T - 1]);
        for (int i = 0; i < top; i++)
            printf("  %2d. %-16s %.4f\n", i + 1, s.eng.model.vocab.words[ids[i]], p[i]);
    }
    session_close(&s);
    return 0;
}

/* ---- ablate -------------------------------------------------------------------- */

/* Parses "1.2,0.3" (layer.head pairs) into mask (L * NH). */
static AvzCode parse_heads(const char *spec, const ModelConfig *c, unsigned char *mask,
                           char *err) {
    const char *p = spec;
    int count = 0;
    while (*p) {
        int l, h, n = 0;
        if (sscanf(p, "%d.%d%n", &l, &h, &n) != 2 || n == 0)
            return avz_fail(err, AVZ_ERR_INPUT, "--heads: expected LAYER.HEAD pairs like "
                            "'1.2,0.3' (got '%s')", spec);
        if (l < 0 || l >= c->n_layer || h < 0 || h >= c->n_head)
            return avz_fail(err, AVZ_ERR_INPUT, "--heads: head %d.%d does not exist (the "
                            "model has layers 0..%d and heads 0..%d)", l, h, c->n_layer - 1,
                            c->n_head - 1);
        mask[l * c->n_head + h] = 1;
        count++;
        p += n;
        if (*p == ',') p++;
        else if (*p) return avz_fail(err, AVZ_ERR_INPUT, "--heads: unexpected '%s'", p);
    }
    if (!count) return avz_fail(err, AVZ_ERR_INPUT, "--heads: no head given");
    return AVZ_OK;
}

static AvzCode parse_mode(const char *mode, AblateMode *out, char *err) {
    if (!mode || strcmp(mode, "zero") == 0) *out = ABLATE_ZERO;
    else if (strcmp(mode, "mean") == 0) *out = ABLATE_MEAN;
    else return avz_fail(err, AVZ_ERR_INPUT, "--mode: unknown mode '%s' (use zero or mean)",
                         mode);
    return AVZ_OK;
}

static void print_ablation(const Session *s, const AblationResult *r, const char *heads) {
    const Vocab *v = &s->eng.model.vocab;
    printf("ablated heads: %s\n", heads);
    printf("loss on the text: %.4f -> %.4f (%+.4f)\n", r->loss_base, r->loss_ablated,
           r->loss_ablated - r->loss_base);
    printf("mean KL(baseline || ablated): %.5f nats\n", r->kl_mean);
    printf("next token after \"%s\":\n  %-28s %s\n", s->tok.text[r->T - 1], "before", "after");
    for (int i = 0; i < r->topk; i++)
        printf("  %-16s %.4f     %-16s %.4f\n", v->words[r->top_base[i]], r->ptop_base[i],
               v->words[r->top_ablated[i]], r->ptop_ablated[i]);
    printf("KL per position:\n");
    for (int t = 0; t < r->T; t++) printf("  %3d %-14s %.5f\n", t, s->tok.text[t], r->kl[t]);
}

static void json_ablation(const Session *s, const AblationResult *r, const char *heads) {
    cJSON *j = json_header(s);
    cJSON_AddStringToObject(j, "heads", heads);
    cJSON_AddNumberToObject(j, "loss_base", r->loss_base);
    cJSON_AddNumberToObject(j, "loss_ablated", r->loss_ablated);
    cJSON_AddNumberToObject(j, "kl_mean", r->kl_mean);
    cJSON_AddItemToObject(j, "kl", cJSON_CreateFloatArray(r->kl, r->T));
    cJSON_AddItemToObject(j, "top_base", json_topk(&s->eng.model.vocab, r->top_base, r->ptop_base,
                                                   r->topk));
    cJSON_AddItemToObject(j, "top_ablated",
                          json_topk(&s->eng.model.vocab, r->top_ablated, r->ptop_ablated, r->topk));
    json_print(j);
}

int cmd_ablate(int argc, char **argv) {
    RunArgs a = {0};
    const char *heads = NULL, *mode = NULL;
    int top = 5, probe = 0, n_probes = 100;
    CliOpt opts[] = {RUN_OPTS(a),
                     {"--heads", OPT_STR, &heads, "L.H,...", "heads to switch off (required)", 0},
                     {"--probe", OPT_FLAG, &probe, NULL, "report behaviour accuracies on held-out probes instead of a text", 0},
                     {"--probes", OPT_INT, &n_probes, "N", "probe passages per kind (default 100)", 0},
                     {"--mode", OPT_STR, &mode, "zero|mean", "how to remove a head (default zero)", 0},
                     {"--top", OPT_INT, &top, "K", "top-k tokens before/after (default 5)", 0}};
    CliCommand cmd = {"ablate", "--text TEXT --heads L.H[,L.H...] [--mode zero|mean] [--json]",
                      "Switches heads off and shows what changes: loss, KL per position, top-k.",
                      opts, sizeof opts / sizeof opts[0]};
    Session s;
    int rc = open_run(&cmd, argc, argv, &a, &s);
    if (rc >= 0) return rc;
    rc = 0;
    AvzErr err;
    AblateMode am = ABLATE_ZERO;
    unsigned char *mask = avz_xcalloc(s.eng.model.cfg.n_layer * s.eng.model.cfg.n_head, 1);
    AblationResult r = {0};
    if (!heads) rc = avz_fail(err, AVZ_ERR_INPUT, "attnviz ablate: --heads is required");
    if (!rc) rc = parse_heads(heads, &s.eng.model.cfg, mask, err);
    if (!rc) rc = parse_mode(mode, &am, err);
    if (!rc && probe) {
        rc = roles_ablation(&s.eng.be, &s.eng.model, mask, am, n_probes, a.json);
        free(mask);
        session_close(&s);
        return rc;
    }
    if (!rc) rc = ablate_run(&s.eng.be, &s.eng.model, s.tok.ids, s.tok.n, mask, am, top, &r, s.note, err);
    if (!rc) {
        if (a.json) json_ablation(&s, &r, heads);
        else print_ablation(&s, &r, heads);
    }
    ablation_result_free(&r);
    free(mask);
    session_close(&s);
    return rc ? cmd_error(rc, err) : 0;
}

/* ---- heads: the importance sweep ------------------------------------------------ */

static void print_sweep(const Session *s, const float *imp, float base) {
    const ModelConfig *c = &s->eng.model.cfg;
    printf("loss on the text: %.4f; loss increase when each head is ablated alone:\n", base);
    printf("        ");
    for (int h = 0; h < c->n_head; h++) printf("  head %-3d", h);
    printf("\n");
    for (int l = 0; l < c->n_layer; l++) {
        printf("layer %-2d", l);
        for (int h = 0; h < c->n_head; h++) printf(" %+9.4f", imp[l * c->n_head + h]);
        printf("\n");
    }
}

int cmd_heads(int argc, char **argv) {
    RunArgs a = {0};
    const char *mode = NULL;
    int roles = 0, behaviour = 0, n_probes = 100;
    CliOpt opts[] = {RUN_OPTS(a),
                     {"--mode", OPT_STR, &mode, "zero|mean", "how to remove a head (default zero)", 0},
                     {"--roles", OPT_FLAG, &roles, NULL, "measure every head's role on held-out probes", 0},
                     {"--behaviour", OPT_FLAG, &behaviour, NULL, "ablate each head alone; accuracy of each behaviour on held-out probes", 0},
                     {"--probes", OPT_INT, &n_probes, "N", "probe passages per kind (default 100)", 0}};
    CliCommand cmd = {"heads", "(--text TEXT | --roles) [--model DIR] [--mode zero|mean] [--json]",
                      "Importance sweep: ablates every head alone and reports the loss increase "
                      "on the text.\nWith --roles: every head's role scores (previous-token, "
                      "induction, coreference, ...) on held-out probes.", opts,
                      sizeof opts / sizeof opts[0]};
    Session s;
    int rc = open_run(&cmd, argc, argv, &a, &s);
    if (rc >= 0) return rc;
    if (roles || behaviour) {
        AblateMode am = ABLATE_ZERO;
        AvzErr err;
        if (n_probes < 1) rc = cmd_error(2, "attnviz heads: --probes must be positive");
        else if ((rc = parse_mode(mode, &am, err))) rc = cmd_error(rc, err);
        else if (roles) rc = roles_report(&s.eng.be, &s.eng.model, n_probes, a.json);
        else rc = roles_behaviour_sweep(&s.eng.be, &s.eng.model, am, n_probes, a.json);
        session_close(&s);
        return rc;
    }
    AvzErr err;
    AblateMode am = ABLATE_ZERO;
    int n = s.eng.model.cfg.n_layer * s.eng.model.cfg.n_head;
    float *imp = avz_xcalloc(n, sizeof(float)), base = 0;
    rc = parse_mode(mode, &am, err);
    if (!rc) rc = ablate_sweep(&s.eng.be, &s.eng.model, s.tok.ids, s.tok.n, am, imp, &base, NULL, NULL,
                               s.note, err);
    if (!rc && a.json) {
        cJSON *j = json_header(&s);
        cJSON_AddNumberToObject(j, "loss_base", base);
        cJSON *rows = cJSON_CreateArray();
        for (int l = 0; l < s.eng.model.cfg.n_layer; l++)
            cJSON_AddItemToArray(rows, cJSON_CreateFloatArray(imp + l * s.eng.model.cfg.n_head,
                                                              s.eng.model.cfg.n_head));
        cJSON_AddItemToObject(j, "importance", rows);
        json_print(j);
    } else if (!rc) {
        print_sweep(&s, imp, base);
    }
    free(imp);
    session_close(&s);
    return rc ? cmd_error(rc, err) : 0;
}

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
    int layers = 2, heads = 4, embd = 64, positions = 64, seed = 1;
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
        {"--out", OPT_STR, &out, "DIR", "model folder to write (required)", 0}};
    CliCommand cmd = {"init", "--pe PE --vocab FILE --out DIR [--layers N --heads N --embd N "
                      "--positions N --seed S]",
                      "Writes a randomly initialised model folder.", opts,
                      sizeof opts / sizeof opts[0]};
    AvzErr err;
    int rc = cli_parse(&cmd, argc, argv, 2, err);
    if (rc < 0) return 0;
    if (rc) return cmd_error(2, err);
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
    if (!rc) printf("wrote %s: %s, %d layers x %d heads, C=%d, %zu parameters\n", out,
                    pe_name(cfg.pe), layers, heads, embd, m.num_parameters);
    model_free(&m);
    return rc ? cmd_error(rc, err) : 0;
}
