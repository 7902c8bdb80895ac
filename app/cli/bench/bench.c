/* bench.c: `attnviz bench`, the speed of attnviz printed as tables (or JSON). Speed is
 * measured here, never asserted in a test. Every figure comes from the same run, so
 * ratios between them are meaningful even on a noisy machine.
 *
 *   (a) forward pass + capture of every head, for each model folder found, at T = 64
 *       and 256, on one thread and on all of them: what an interaction costs;
 *   (b) the head-importance sweep (every head ablated alone) at T = 64;   (models.c)
 *   (c) flash attention alone, causal and not, against the machine's ceiling measured
 *       in this run (the fastest single-precision matrix multiply we have); (kernels.c)
 *   (d) the extra memory flash needs next to naive at T = 16384;
 *   (e) the original table: naive vs the reference flash vs the fast flash. (memory.c)
 *   --device cuda: the GPU benchmark (bench_gpu.cu). */
#define _DEFAULT_SOURCE
#include <cjson/cJSON.h>
#include <dirent.h>
#include <dlfcn.h>
#include <math.h>
#include <omp.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ablate.h"
#include "assets.h"
#include "attention.h"
#include "cli/bench/bench.h"
#include "gemm.h"
#include "model.h"
#include "util.h"
#ifdef AVZ_CUDA
#include "gpu_backend.h"
#endif
#include "cli/cli.h"
#include "cli/commands.h"


#define SAY(b, ...) do { if (!(b)->json) { printf(__VA_ARGS__); fflush(stdout); } } while (0)

int bench_wants(const Bench *b, const char *section) {
    if (!b->only) return 1;
    const char *p = strstr(b->only, section);
    size_t n = strlen(section);
    return p && (p == b->only || p[-1] == ',') && (p[n] == '\0' || p[n] == ',');
}

void bench_fill_random(float *x, size_t n, AvzRng *r) {
    for (size_t i = 0; i < n; i++) x[i] = avz_rng_normal(r);
}

int bench_cpu_time;

double bench_now(void) {
    if (!bench_cpu_time) return avz_now();
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

double bench_best_ms(BenchFn fn, void *ctx, int min_reps, double min_s) {
    double best = 1e30, start = avz_now();
    for (int rep = 0; rep < min_reps || (avz_now() - start < min_s && rep < 100000); rep++) {
        double t0 = bench_now();
        fn(ctx);
        double ms = 1e3 * (bench_now() - t0);
        if (ms < best) best = ms;
    }
    return best;
}

double bench_max_diff(const float *a, const float *b, size_t n) {
    double d = 0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

cJSON *bench_json_section(Bench *b, const char *name) {
    cJSON *arr = cJSON_GetObjectItem(b->doc, name);
    if (!arr) arr = cJSON_AddArrayToObject(b->doc, name);
    return arr;
}

/* `attnviz bench --device cuda` is the GPU benchmark (bench_gpu.cu). */
static int wants_cuda(int argc, char **argv) {
    for (int i = 2; i < argc; i++)
        if ((strcmp(argv[i], "--device") == 0 && i + 1 < argc && strcmp(argv[i + 1], "cuda") == 0) ||
            strcmp(argv[i], "--device=cuda") == 0)
            return 1;
    return 0;
}

int cmd_bench(int argc, char **argv) {
    if (wants_cuda(argc, argv)) {
#ifdef AVZ_CUDA
        return gpu_bench_main(argc - 1, argv + 1);
#else
        return cmd_error(2, "attnviz bench --device cuda: this build has no CUDA backend "
                         "(nvcc was not found, or NO_CUDA=1)");
#endif
    }
    Bench b = {.reps = 3, .max_t = 2048, .hs = 64, .nh = 8, .model_t = "64,256"};
    CliOpt opts[] = {
        {"--threads", OPT_INT, &b.threads, "N", "\"all threads\" (default: every core)", 0},
        {"--models", OPT_STR, &b.models, "DIR", "a model folder, or a folder of them (default: "
         "the shipped models)", 0},
        {"--model-t", OPT_STR, &b.model_t, "LIST", "text lengths for (a) (default 64,256)", 0},
        {"--only", OPT_STR, &b.only, "LIST", "sections: models,sweep,flash,memory,table", 0},
        {"--quick", OPT_FLAG, &b.quick, NULL, "small sizes: checks that everything runs", 0},
        {"--json", OPT_FLAG, &b.json, NULL, "print one JSON document instead of tables", 0},
        {"--no-reference", OPT_FLAG, &b.no_ref, NULL, "(c) without the slow reference kernel", 0},
        {"--no-loss", OPT_FLAG, &b.no_loss, NULL, "(a) without the loss: logits and maps only "
         "(the work PyTorch does in tests/bench/torch_ref.py)", 0},
        {"--cpu-time", OPT_FLAG, &bench_cpu_time, NULL, "time by CPU time, not the wall clock (for "
         "a busy machine, with --threads 1)", 0},
        {"--max-t", OPT_INT, &b.max_t, "T", "longest sequence of table (e) (default 2048; "
         "8192 takes a minute)", 0},
        {"--reps", OPT_INT, &b.reps, "N", "repeats of table (e), best taken (default 3)", 0},
        {"--heads", OPT_INT, &b.nh, "N", "heads in (c) and (e) (default 8)", 0},
        {"--head-size", OPT_INT, &b.hs, "D", "head size d in (c), (d), (e) (default 64)", 0}};
    CliCommand cmd = {"bench", "[--threads N] [--models DIR] [--quick] [--json] [--only LIST]",
                      "CPU speed: forward + capture of each model, the head sweep, flash "
                      "attention against the machine's matrix-multiply ceiling, and memory.",
                      opts, sizeof opts / sizeof opts[0]};
    int rc = cli_begin(&cmd, argc, argv);
    if (rc >= 0) return rc;
    rc = 0;
    if (b.max_t < 1 || b.reps < 1 || b.nh < 1 || b.hs < 1 || b.hs > AVZ_MAX_HS || b.threads < 0)
        return cmd_error(2, "attnviz bench: --max-t, --reps, --heads, --threads must be positive "
                         "and --head-size at most 256");
    int all = omp_get_max_threads();
    if (!b.threads) b.threads = all;
    if (b.json) b.doc = cJSON_CreateObject();
    const CpuCaches *cc = cpu_caches();
    bench_cpu_time = bench_cpu_time != 0;
    double load[1] = {0};
    if (getloadavg(load, 1) < 1) load[0] = -1;
    SAY(&b, "attnviz bench: %s kernels, L1d %zu KiB, L2 %zu KiB (%s), %d threads%s%s; "
        "load average %.1f on %ld cores\n", gemm_kernels()->isa, cc->l1d >> 10, cc->l2 >> 10,
        cc->source, b.threads, b.quick ? ", --quick sizes" : "",
        bench_cpu_time ? ", timed by CPU time" : "", load[0], sysconf(_SC_NPROCESSORS_ONLN));
    if (b.json) {
        cJSON *mc = cJSON_AddObjectToObject(b.doc, "machine");
        cJSON_AddStringToObject(mc, "isa", gemm_kernels()->isa);
        cJSON_AddNumberToObject(mc, "l1d", (double)cc->l1d);
        cJSON_AddNumberToObject(mc, "l2", (double)cc->l2);
        cJSON_AddNumberToObject(mc, "threads", b.threads);
    }
    if (bench_wants(&b, "models") || bench_wants(&b, "sweep")) bench_models(&b);
    if (bench_wants(&b, "flash")) {
        char path[160] = "";
        double ceiling = bench_ceiling(&b, path, sizeof path);
        bench_flash(&b, ceiling, path);
    }
    if (bench_wants(&b, "memory")) bench_memory(&b);
    if (bench_wants(&b, "table")) bench_table(&b);
    omp_set_num_threads(all);
    if (b.json) {
        char *txt = cJSON_Print(b.doc);
        printf("%s\n", txt);
        free(txt);
        cJSON_Delete(b.doc);
    }
    return 0;
}
