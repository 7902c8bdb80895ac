/* cmd_bench.c: `attnviz bench`, the CPU speed of attnviz, printed as tables (or JSON).
 * Speed is measured here, never asserted in a test. Every figure comes from the same
 * run, so ratios between them are meaningful even on a noisy machine.
 *
 *   (a) forward pass + capture of every head, for each model folder found, at T = 64
 *       and 256, on one thread and on all of them: what an interaction costs;
 *   (b) the head-importance sweep (every head ablated alone) at T = 64;
 *   (c) flash attention alone, causal and not, against the machine's ceiling measured
 *       in this run (the fastest single-precision matrix multiply we have);
 *   (d) the extra memory flash needs next to naive at T = 16384;
 *   (e) the original table: naive vs the reference flash vs the fast flash, one thread. */
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
#include "cli/cli.h"
#include "cli/commands.h"
#ifdef AVZ_CUDA
#include "gpu_backend.h"
#endif
#include "gemm.h"
#include "model.h"

typedef struct {
    int threads;          /* "all threads" */
    int quick, json, reps, max_t, hs, nh, no_ref;
    int no_loss;          /* (a) without targets: logits and maps only, as torch_ref.py times */
    const char *models, *only, *model_t;
    cJSON *doc;           /* --json: everything goes here instead of the tables */
} Bench;

#define SAY(b, ...) do { if (!(b)->json) { printf(__VA_ARGS__); fflush(stdout); } } while (0)

static int wants(const Bench *b, const char *section) {
    if (!b->only) return 1;
    const char *p = strstr(b->only, section);
    size_t n = strlen(section);
    return p && (p == b->only || p[-1] == ',') && (p[n] == '\0' || p[n] == ',');
}

static void fill_random(float *x, size_t n, AvzRng *r) {
    for (size_t i = 0; i < n; i++) x[i] = avz_rng_normal(r);
}

/* --cpu-time: time by the CPU time this process got rather than the wall clock. On a
 * machine busy with other work the wall clock also counts the time the scheduler gave
 * to others; the CPU time does not. With several threads it is their sum, so it is
 * meant for --threads 1. */
static int g_cpu_time;

static double now_s(void) {
    if (!g_cpu_time) return avz_now();
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* Best (smallest) time in ms of fn over at least min_reps calls and about min_s
 * seconds: the minimum is the run least disturbed by the rest of the machine. */
typedef void (*BenchFn)(void *ctx);
static double best_ms(BenchFn fn, void *ctx, int min_reps, double min_s) {
    double best = 1e30, start = avz_now();
    for (int rep = 0; rep < min_reps || (avz_now() - start < min_s && rep < 100000); rep++) {
        double t0 = now_s();
        fn(ctx);
        double ms = 1e3 * (now_s() - t0);
        if (ms < best) best = ms;
    }
    return best;
}

static void fmt_bytes(size_t b, char *out, size_t len) {
    if (b >= (1u << 30)) snprintf(out, len, "%.2f GiB", b / 1073741824.0);
    else if (b >= (1u << 20)) snprintf(out, len, "%.1f MiB", b / 1048576.0);
    else snprintf(out, len, "%.1f KiB", b / 1024.0);
}

static double max_diff(const float *a, const float *b, size_t n) {
    double d = 0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

static cJSON *json_section(Bench *b, const char *name) {
    cJSON *arr = cJSON_GetObjectItem(b->doc, name);
    if (!arr) arr = cJSON_AddArrayToObject(b->doc, name);
    return arr;
}

/* ---- (a), (b): the models ------------------------------------------------------------ */

typedef struct {
    Model *m;
    const int *ids, *tg;
    int T, capture;
    float *maps;          /* (L, NH, T, T) */
    Backend *be;
    float *importance;
} ModelRun;

static void run_forward(void *ctx) {
    ModelRun *r = ctx;
    AvzErr err;
    AvzCode rc = model_forward(r->m, r->ids, r->tg, 1, r->T, NULL, err);
    AVZ_ASSERT(rc == AVZ_OK);
    if (r->capture) model_capture_all(r->m, 0, r->maps);
}

static void run_sweep(void *ctx) {
    ModelRun *r = ctx;
    char note[AVZ_ERR_LEN] = "", err[AVZ_ERR_LEN];
    float base;
    AvzCode rc = ablate_sweep(&r->be, r->m, r->ids, r->T, ABLATE_ZERO, r->importance, &base,
                              NULL, NULL, note, err);
    AVZ_ASSERT(rc == AVZ_OK);
}

/* Is dir/name (or dir itself when name is NULL) a model folder? Writes its path. */
static int model_dir_at(const char *dir, const char *name, char *out, size_t len) {
    char probe[4200];
    int n = name ? snprintf(out, len, "%s/%s", dir, name) : snprintf(out, len, "%s", dir);
    if (n < 0 || (size_t)n >= len) return 0;
    n = snprintf(probe, sizeof probe, "%s/config.json", out);
    return n > 0 && (size_t)n < sizeof probe && access(probe, R_OK) == 0;
}

/* The model folders to time: DIR itself if it holds config.json, else its sub-folders
 * that do, the shipped encodings first. Returns how many (at most max). */
static int find_models(const char *dir, char paths[][4096], int max) {
    if (model_dir_at(dir, NULL, paths[0], 4096)) return 1;
    int n = 0;
    const char *order[] = {"none", "sinusoidal", "learned", "rope", "alibi"};
    for (int i = 0; i < 5 && n < max; i++) n += model_dir_at(dir, order[i], paths[n], 4096);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) && n < max) {
        int shipped = 0;
        for (int i = 0; i < 5; i++) shipped |= strcmp(e->d_name, order[i]) == 0;
        if (!shipped && e->d_name[0] != '.') n += model_dir_at(dir, e->d_name, paths[n], 4096);
    }
    if (d) closedir(d);
    return n;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

/* Times forward and forward + capture of one model at length T on `threads`. */
static void time_model(Bench *b, Model *m, const char *name, int T, const int *ids,
                       const int *tg, int threads, float *maps, double *fwd, double *both) {
    omp_set_num_threads(threads);
    ModelRun r = {m, ids, b->no_loss ? NULL : tg, T, 0, maps, NULL, NULL};
    double min_s = b->quick ? 0.02 : 0.3;
    *fwd = best_ms(run_forward, &r, 3, min_s);
    r.capture = 1;
    *both = best_ms(run_forward, &r, 3, min_s);
    if (b->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", name);
        cJSON_AddNumberToObject(o, "T", T);
        cJSON_AddNumberToObject(o, "threads", threads);
        cJSON_AddNumberToObject(o, "forward_ms", *fwd);
        cJSON_AddNumberToObject(o, "forward_capture_ms", *both);
        cJSON_AddItemToArray(json_section(b, "models"), o);
    }
}

static void bench_models(Bench *b) {
    char dir[4096], paths[16][4096], err[AVZ_ERR_LEN];
    if (b->models) snprintf(dir, sizeof dir, "%s", b->models);
    else assets_find("assets/models", dir, sizeof dir);
    int n = find_models(dir, paths, 16);
    int Ts[8], nT = 0;
    for (const char *p = b->model_t; p && *p && nT < 8;) {
        char *end;
        long t = strtol(p, &end, 10);
        if (end == p || t < 1) break;
        Ts[nT++] = (int)t;
        p = *end == ',' ? end + 1 : end;
    }
    if (b->quick) { Ts[0] = 16; Ts[1] = 32; nT = 2; }
    SAY(b, "\n(a) forward pass + capture of every head (all L x H maps), one text of T tokens "
        "(all threads = %d); (b) the head-importance sweep\n", b->threads);
    if (!n) {
        SAY(b, "    no model folders in %s (train some with `make models`, or pass --models DIR)\n", dir);
        return;
    }
    SAY(b, "%-12s %9s %5s | %-23s | %-23s\n", "", "", "", "1 thread", "all threads");
    SAY(b, "%-12s %9s %5s | %10s %12s | %10s %12s\n", "model", "L x H", "T", "forward ms",
        "+ capture ms", "forward ms", "+ capture ms");
    int sweep_T = b->quick ? 16 : 64;
    for (int i = 0; i < n; i++) {
        Model m;
        if (model_load(&m, paths[i], err)) {
            SAY(b, "%-12s %s\n", base_name(paths[i]), err);
            continue;
        }
        const char *name = base_name(paths[i]);
        int L = m.cfg.n_layer, NH = m.cfg.n_head, max = config_max_len(&m.cfg);
        for (int ti = 0; ti < nT && wants(b, "models"); ti++) {
            int T = Ts[ti];
            if (T > max) {
                SAY(b, "%-12s %3d x %-3d %5d | skipped: a %s model accepts at most %d tokens\n",
                    name, L, NH, T, pe_name(m.cfg.pe), max);
                continue;
            }
            int *ids = avz_xmalloc(sizeof(int) * T), *tg = avz_xmalloc(sizeof(int) * T);
            AvzRng r;
            avz_rng_init(&r, 7 + T);
            for (int t = 0; t < T; t++)
                ids[t] = t == 0 ? m.vocab.bos_id : 2 + (int)(avz_rng_u64(&r) % (m.cfg.vocab_size - 2));
            for (int t = 0; t < T; t++) tg[t] = t + 1 < T ? ids[t + 1] : -1;
            float *maps = avz_xmalloc(sizeof(float) * (size_t)L * NH * T * T);
            double f1, c1, fn, cn;
            time_model(b, &m, name, T, ids, tg, 1, maps, &f1, &c1);
            time_model(b, &m, name, T, ids, tg, b->threads, maps, &fn, &cn);
            SAY(b, "%-12s %3d x %-3d %5d | %10.3f %12.3f | %10.3f %12.3f\n", name, L, NH, T, f1,
                c1, fn, cn);
            free(maps);
            free(ids);
            free(tg);
        }
        if (wants(b, "sweep") && sweep_T <= max) {
            int T = sweep_T, *ids = avz_xmalloc(sizeof(int) * T);
            AvzRng r;
            avz_rng_init(&r, 99);
            for (int t = 0; t < T; t++)
                ids[t] = t == 0 ? m.vocab.bos_id : 2 + (int)(avz_rng_u64(&r) % (m.cfg.vocab_size - 2));
            float *imp = avz_xmalloc(sizeof(float) * L * NH);
            ModelRun run = {&m, ids, NULL, T, 0, NULL, backend_cpu_create(), imp};
            omp_set_num_threads(1);
            double s1 = best_ms(run_sweep, &run, 2, b->quick ? 0.02 : 0.3);
            omp_set_num_threads(b->threads);
            double sn = best_ms(run_sweep, &run, 2, b->quick ? 0.02 : 0.3);
            SAY(b, "%-12s %3d x %-3d %5d | (b) sweep of %d heads: %.2f ms on 1 thread, %.2f ms "
                "on %d\n", name, L, NH, T, L * NH, s1, sn, b->threads);
            if (b->json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "model", name);
                cJSON_AddNumberToObject(o, "T", T);
                cJSON_AddNumberToObject(o, "heads", L * NH);
                cJSON_AddNumberToObject(o, "ms_1_thread", s1);
                cJSON_AddNumberToObject(o, "ms_all_threads", sn);
                cJSON_AddNumberToObject(o, "threads", b->threads);
                cJSON_AddItemToArray(json_section(b, "sweep"), o);
            }
            backend_close(run.be);
            free(imp);
            free(ids);
        }
        model_free(&m);
    }
    SAY(b, "targets: forward + capture at T = 64 under 2 ms on one thread; the sweep under 50 ms "
        "(a 60 Hz frame is 16.7 ms)\n");
}

/* ---- the ceiling: the fastest single-precision matrix multiply we have ---------------- */

typedef void (*CblasSgemm)(int order, int ta, int tb, int M, int N, int K, float alpha,
                           const float *A, int lda, const float *B, int ldb, float beta, float *C,
                           int ldc);

/* OpenBLAS, if installed, loaded at run time (attnviz does not depend on it). It reads
 * OPENBLAS_CORETYPE only when it loads, and Debian's 0.3.21 mistakes recent Xeons for a
 * generic "Prescott" core, about 5x slower. So, unless the user chose a core, we name
 * the right one for this CPU before loading it: the fast path without setting anything. */
static CblasSgemm openblas_load(int threads, char *core, size_t len) {
    const char *isa = gemm_kernels()->isa;
    if (strcmp(isa, "avx512") == 0) setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
    else if (strcmp(isa, "avx2") == 0) setenv("OPENBLAS_CORETYPE", "Haswell", 0);
    void *h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h) return NULL;
    CblasSgemm f;
    void (*set_threads)(int);
    char *(*corename)(void);
    *(void **)&f = dlsym(h, "cblas_sgemm");
    *(void **)&set_threads = dlsym(h, "openblas_set_num_threads");
    *(void **)&corename = dlsym(h, "openblas_get_corename");
    if (set_threads) set_threads(threads);
    snprintf(core, len, "%s", corename ? corename() : "?");
    return f;
}

typedef struct {
    int M, N, K;
    const float *A, *B;
    float *C;
    CblasSgemm blas;
} GemmRun;

static void run_gemm(void *ctx) {
    GemmRun *g = ctx;
    if (g->blas) g->blas(101, 111, 111, g->M, g->N, g->K, 1.0f, g->A, g->K, g->B, g->N, 0.0f, g->C, g->N);
    else gemm_sgemm(g->M, g->N, g->K, g->A, g->K, g->B, g->N, 0, g->C, g->N, NULL);
}

/* Times our sgemm and OpenBLAS's at two shapes on b->threads; returns the best GFLOP/s. */
static double bench_ceiling(Bench *b, char *best_path, size_t len) {
    int shapes[2][3] = {{2048, 2048, 64}, {1024, 1024, 1024}};   /* M, N, K */
    if (b->quick) {
        shapes[0][0] = shapes[0][1] = 256;
        shapes[1][0] = shapes[1][1] = shapes[1][2] = 256;
    }
    char core[64] = "";
    CblasSgemm blas = b->quick ? NULL : openblas_load(b->threads, core, sizeof core);
    omp_set_num_threads(b->threads);
    SAY(b, "\nceiling: single-precision matrix multiply, %d threads\n", b->threads);
    double best = 0;
    for (int s = 0; s < 2; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *A = avz_xmalloc(sizeof(float) * (size_t)M * K), *B = avz_xmalloc(sizeof(float) * (size_t)K * N);
        float *C = avz_xmalloc(sizeof(float) * (size_t)M * N);
        AvzRng r;
        avz_rng_init(&r, 3);
        fill_random(A, (size_t)M * K, &r);
        fill_random(B, (size_t)K * N, &r);
        for (int p = 0; p < (blas ? 2 : 1); p++) {
            GemmRun g = {M, N, K, A, B, C, p ? blas : NULL};
            double ms = best_ms(run_gemm, &g, 3, b->quick ? 0.02 : 0.5);
            double gf = 2.0 * M * N * K / (ms * 1e-3) / 1e9;
            char path[96];
            snprintf(path, sizeof path, p ? "OpenBLAS (%s core)" : "attnviz gemm (%s)",
                     p ? core : gemm_kernels()->isa);
            SAY(b, "    %-28s %5d x %4d x %5d  %8.2f ms  %7.1f GFLOP/s\n", path, M, K, N, ms, gf);
            if (gf > best) {
                best = gf;
                snprintf(best_path, len, "%s, %dx%dx%d", path, M, K, N);
            }
            if (b->json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "path", path);
                cJSON_AddNumberToObject(o, "M", M);
                cJSON_AddNumberToObject(o, "K", K);
                cJSON_AddNumberToObject(o, "N", N);
                cJSON_AddNumberToObject(o, "gflops", gf);
                cJSON_AddItemToArray(json_section(b, "ceiling"), o);
            }
        }
        free(A); free(B); free(C);
    }
    if (blas) usleep(200000);   /* let OpenBLAS's spinning threads go to sleep */
    if (!blas && !b->quick) SAY(b, "    (OpenBLAS not found: the ceiling is our own kernel)\n");
    return best;
}

/* ---- (c) flash attention alone --------------------------------------------------------- */

typedef struct {
    AttnShape s;
    int nh, ref_heads;
    const float *q, *k, *v;
    float *out, *lse;
} FlashRun;

static void run_fast(void *ctx) {
    FlashRun *f = ctx;
    attn_flash_fast_heads(&f->s, f->nh, NULL, f->q, f->k, f->v, f->out, (size_t)f->s.T * f->s.hs, f->lse);
}

/* The reference kernel, one head per thread (it has no threads of its own). */
static void run_ref(void *ctx) {
    FlashRun *f = ctx;
    size_t hsz = (size_t)f->s.T * f->s.hs;
#pragma omp parallel for schedule(dynamic)
    for (int h = 0; h < f->ref_heads; h++)
        attn_flash(&f->s, f->q + h * hsz, f->k + h * hsz, f->v + h * hsz, f->out + h * hsz,
                   f->lse + (size_t)h * f->s.T);
}

static void bench_flash(Bench *b, double ceiling, const char *ceiling_path) {
    int nh = b->nh, hs = b->hs, Ts[3] = {512, 2048, 8192};
    if (b->quick) { Ts[0] = 64; Ts[1] = 128; Ts[2] = 256; }
    AttnFastTiles tl = attn_fast_tiles(2048, hs);
    SAY(b, "\n(c) flash attention alone: %d heads, d_head %d, %d threads, tiles %d x %d (%s); "
        "ceiling %.1f GFLOP/s (%s)\n", nh, hs, b->threads, tl.bq, tl.bk, tl.isa, ceiling, ceiling_path);
    SAY(b, "%6s %6s | %9s %8s %9s | %12s %8s | %7s %9s\n", "T", "causal", "fast ms", "GFLOP/s",
        "% ceiling", "reference ms", "GFLOP/s", "speedup", "max diff");
    omp_set_num_threads(b->threads);
    for (int causal = 1; causal >= 0; causal--) {
        for (int i = 0; i < 3; i++) {
            int T = Ts[i];
            size_t n = (size_t)nh * T * hs;
            float *q = avz_xmalloc(4 * n), *k = avz_xmalloc(4 * n), *v = avz_xmalloc(4 * n);
            float *o1 = avz_xmalloc(4 * n), *o2 = avz_xmalloc(4 * n);
            float *lse = avz_xmalloc(sizeof(float) * nh * T);
            AvzRng r;
            avz_rng_init(&r, 42 + T);
            fill_random(q, n, &r);
            fill_random(k, n, &r);
            fill_random(v, n, &r);
            FlashRun f = {{T, hs, 1.0f / sqrtf((float)hs), 0.0f, causal, hs}, nh, nh, q, k, v, o1, lse};
            double ms = best_ms(run_fast, &f, T >= 8192 ? 1 : 3, b->quick ? 0.01 : 0.5);
            /* the reference is slow: past T = 2048 it runs one head per thread, scaled */
            f.out = o2;
            f.ref_heads = T > 2048 && nh > b->threads ? b->threads : nh;
            double rms = NAN;
            if (!b->no_ref) rms = best_ms(run_ref, &f, 1, 0) * nh / f.ref_heads;
            else memcpy(o2, o1, 4 * n);
            double flops = 4.0 * T * (double)T * hs * nh / (causal ? 2.0 : 1.0);
            double gf = flops / (ms * 1e-3) / 1e9, rgf = flops / (rms * 1e-3) / 1e9;
            double diff = max_diff(o1, o2, (size_t)f.ref_heads * T * hs);
            if (b->no_ref)
                SAY(b, "%6d %6s | %9.2f %8.1f %8.0f%% | %12s %8s | %7s %9s\n", T,
                    causal ? "yes" : "no", ms, gf, 100.0 * gf / ceiling, "-", "-", "-", "-");
            else
                SAY(b, "%6d %6s | %9.2f %8.1f %8.0f%% | %11.1f%s %8.1f | %6.1fx %9.2e\n", T,
                    causal ? "yes" : "no", ms, gf, 100.0 * gf / ceiling, rms,
                    f.ref_heads < nh ? "*" : " ", rgf, rms / ms, diff);
            if (b->json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNumberToObject(o, "T", T);
                cJSON_AddBoolToObject(o, "causal", causal);
                cJSON_AddNumberToObject(o, "heads", nh);
                cJSON_AddNumberToObject(o, "hs", hs);
                cJSON_AddNumberToObject(o, "threads", b->threads);
                cJSON_AddNumberToObject(o, "ms", ms);
                cJSON_AddNumberToObject(o, "gflops", gf);
                cJSON_AddNumberToObject(o, "pct_ceiling", 100.0 * gf / ceiling);
                cJSON_AddNumberToObject(o, "ref_ms", rms);
                cJSON_AddBoolToObject(o, "ref_estimated", f.ref_heads < nh);
                cJSON_AddNumberToObject(o, "max_diff", diff);
                cJSON_AddItemToArray(json_section(b, "flash"), o);
            }
            free(q); free(k); free(v); free(o1); free(o2); free(lse);
        }
    }
    SAY(b, "GFLOP/s counts 4 T^2 d per head, half when causal. * = timed on %d of the %d heads "
        "and scaled. target: at T = 2048, at least 50%% of the ceiling\n", b->threads, nh);
}

/* ---- (d) memory ------------------------------------------------------------------------- */

/* Peak resident memory of this process in bytes (VmHWM), after resetting the peak to
 * the current size when reset is 1. Returns 0 where /proc does not tell. */
static size_t peak_rss(int reset) {
    if (reset) {
        FILE *f = fopen("/proc/self/clear_refs", "w");
        if (!f) return 0;
        int ok = fputs("5", f) >= 0;    /* "5": reset the peak resident set size */
        if (fclose(f) != 0 || !ok) return 0;
    }
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %zu kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb * 1024;
}

static void bench_memory(Bench *b) {
    int T = b->quick ? 1024 : 16384, hs = b->hs;
    size_t n = (size_t)T * hs, naive = sizeof(float) * (size_t)T * T;
    float *q = avz_xmalloc(4 * n), *k = avz_xmalloc(4 * n), *v = avz_xmalloc(4 * n);
    float *o = avz_xmalloc(4 * n), *lse = avz_xmalloc(4 * (size_t)T);
    AvzRng r;
    avz_rng_init(&r, 5);
    fill_random(q, n, &r);
    fill_random(k, n, &r);
    fill_random(v, n, &r);
    memset(o, 0, 4 * n);
    memset(lse, 0, 4 * (size_t)T);
    omp_set_num_threads(b->threads);
    /* flash on one head (threads over its query blocks): what it allocates, by its
     * contract, and how much the process's peak memory grew while it ran */
    AttnShape s = {T, hs, 1.0f / sqrtf((float)hs), 0.0f, 1, hs};
    attn_flash_fast_heads(&s, 1, NULL, q, k, v, o, 0, lse);   /* warm: threads exist */
    size_t before = peak_rss(1);
    attn_flash_fast_heads(&s, 1, NULL, q, k, v, o, 0, lse);
    size_t grew = before ? peak_rss(0) - before : 0;
    size_t flash = attn_flash_fast_scratch_bytes(T, hs) * (size_t)b->threads;
    /* naive needs its (T, T) matrix: allocate and touch it once if memory allows */
    long pages = sysconf(_SC_AVPHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    int measured = 0;
    size_t naive_grew = 0;
    if (pages > 0 && psz > 0 && (double)pages * psz > 2.0 * naive) {
        before = peak_rss(1);
        float *P = malloc(naive);
        if (P) {
            /* one write per page makes it resident (volatile: or the compiler, seeing
             * memory that is freed unread, may skip the writes) */
            volatile float *vp = P;
            for (size_t i = 0; i < naive / sizeof(float); i += 1024) vp[i] = 1.0f;
            naive_grew = before ? peak_rss(0) - before : 0;
            measured = 1;
            free(P);
        }
    }
    char fb[32], fg[32], nb[32], ng[32];
    fmt_bytes(flash, fb, sizeof fb);
    fmt_bytes(grew, fg, sizeof fg);
    fmt_bytes(naive, nb, sizeof nb);
    fmt_bytes(naive_grew, ng, sizeof ng);
    SAY(b, "\n(d) extra memory for one head at T = %d, d_head %d\n", T, hs);
    SAY(b, "    flash: %s allocated (%d threads x %s of tiles); peak resident memory grew %s\n",
        fb, b->threads, fb, fg);
    if (measured)
        SAY(b, "    naive: %s for its (T, T) matrix (allocated and touched: peak grew %s)\n", nb, ng);
    else
        SAY(b, "    naive: %s for its (T, T) matrix (estimate: not enough free memory to try)\n", nb);
    SAY(b, "    flash / naive: %.4f%% (target: under 1%%)\n", 100.0 * flash / naive);
    if (b->json) {
        cJSON *o2 = cJSON_AddObjectToObject(b->doc, "memory");
        cJSON_AddNumberToObject(o2, "T", T);
        cJSON_AddNumberToObject(o2, "flash_bytes", (double)flash);
        cJSON_AddNumberToObject(o2, "flash_peak_rss_growth", (double)grew);
        cJSON_AddNumberToObject(o2, "naive_bytes", (double)naive);
        cJSON_AddBoolToObject(o2, "naive_measured", measured);
        cJSON_AddNumberToObject(o2, "naive_peak_rss_growth", (double)naive_grew);
    }
    free(q); free(k); free(v); free(o); free(lse);
}

/* ---- (e) the original table ------------------------------------------------------------ */

typedef struct {
    int kind;             /* 0 naive, 1 reference flash, 2 fast flash */
    AttnShape s;
    int nh;
    const float *q, *k, *v;
    float *P, *out, *lse;
} OneThreadRun;

static void run_one_thread(void *ctx) {
    OneThreadRun *r = ctx;
    size_t hsz = (size_t)r->s.T * r->s.hs;
    for (int h = 0; h < r->nh; h++) {
        const float *q = r->q + h * hsz, *k = r->k + h * hsz, *v = r->v + h * hsz;
        float *o = r->out + h * hsz, *l = r->lse + (size_t)h * r->s.T;
        if (r->kind == 0) attn_naive(&r->s, q, k, v, r->P, o, l);
        else if (r->kind == 1) attn_flash(&r->s, q, k, v, o, l);
        else attn_flash_fast(&r->s, q, k, v, o, l);
    }
}

static void bench_table(Bench *b) {
    int NH = b->nh, hs = b->hs, reps = b->quick ? 1 : b->reps;
    omp_set_num_threads(1);
    SAY(b, "\n(e) causal attention, %d heads, d_head %d, one thread, best of %d\n", NH, hs, reps);
    SAY(b, "%6s | %10s %8s %10s | %10s %8s %10s | %10s %8s | %9s\n", "T", "naive ms", "GFLOP/s",
        "extra mem", "flash ms", "GFLOP/s", "extra mem", "fast ms", "GFLOP/s", "max diff");
    int Ts[] = {128, 512, 2048, 8192};
    for (int i = 0; i < 4 && Ts[i] <= (b->quick ? 128 : b->max_t); i++) {
        int T = Ts[i];
        size_t n = (size_t)NH * T * hs;
        AvzRng r;
        avz_rng_init(&r, 42 + T);
        float *q = avz_xmalloc(4 * n), *k = avz_xmalloc(4 * n), *v = avz_xmalloc(4 * n);
        float *o[3] = {avz_xmalloc(4 * n), avz_xmalloc(4 * n), avz_xmalloc(4 * n)};
        float *lse = avz_xmalloc(sizeof(float) * NH * T), *P = avz_xmalloc(sizeof(float) * (size_t)T * T);
        fill_random(q, n, &r);
        fill_random(k, n, &r);
        fill_random(v, n, &r);
        double ms[3], gf[3];
        for (int kind = 0; kind < 3; kind++) {
            OneThreadRun run = {kind, {T, hs, 1.0f / sqrtf((float)hs), 0.0f, 1, hs}, NH, q, k, v, P, o[kind], lse};
            ms[kind] = best_ms(run_one_thread, &run, T >= 8192 ? 1 : reps, 0);
            gf[kind] = 4.0 * T * (double)T * hs * NH / 2.0 / (ms[kind] * 1e-3) / 1e9;
        }
        char mn[32], mf[32];
        fmt_bytes(sizeof(float) * (size_t)T * T, mn, sizeof mn);
        fmt_bytes(attn_flash_scratch_bytes(hs), mf, sizeof mf);
        double d = fmax(max_diff(o[0], o[1], n), max_diff(o[0], o[2], n));
        SAY(b, "%6d | %10.2f %8.2f %10s | %10.2f %8.2f %10s | %10.2f %8.2f | %9.2e\n", T, ms[0],
            gf[0], mn, ms[1], gf[1], mf, ms[2], gf[2], d);
        free(q); free(k); free(v); free(o[0]); free(o[1]); free(o[2]); free(lse); free(P);
    }
    SAY(b, "extra mem: working memory beyond q, k, v, out and lse for one head at a time "
        "(naive: the (T, T) matrix; flash: its tiles).\n");
}

/* `attnviz bench --device cuda` is the GPU benchmark (gpu/gpu_bench.cu). */
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
        {"--cpu-time", OPT_FLAG, &g_cpu_time, NULL, "time by CPU time, not the wall clock (for "
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
    AvzErr err;
    int rc = cli_parse(&cmd, argc, argv, 2, err);
    if (rc < 0) return 0;
    if (rc) return cmd_error(2, err);
    if (b.max_t < 1 || b.reps < 1 || b.nh < 1 || b.hs < 1 || b.hs > AVZ_MAX_HS || b.threads < 0)
        return cmd_error(2, "attnviz bench: --max-t, --reps, --heads, --threads must be positive "
                         "and --head-size at most 256");
    int all = omp_get_max_threads();
    if (!b.threads) b.threads = all;
    if (b.json) b.doc = cJSON_CreateObject();
    const CpuCaches *cc = cpu_caches();
    g_cpu_time = g_cpu_time != 0;
    double load[1] = {0};
    if (getloadavg(load, 1) < 1) load[0] = -1;
    SAY(&b, "attnviz bench: %s kernels, L1d %zu KiB, L2 %zu KiB (%s), %d threads%s%s; "
        "load average %.1f on %ld cores\n", gemm_kernels()->isa, cc->l1d >> 10, cc->l2 >> 10,
        cc->source, b.threads, b.quick ? ", --quick sizes" : "",
        g_cpu_time ? ", timed by CPU time" : "", load[0], sysconf(_SC_NPROCESSORS_ONLN));
    if (b.json) {
        cJSON *mc = cJSON_AddObjectToObject(b.doc, "machine");
        cJSON_AddStringToObject(mc, "isa", gemm_kernels()->isa);
        cJSON_AddNumberToObject(mc, "l1d", (double)cc->l1d);
        cJSON_AddNumberToObject(mc, "l2", (double)cc->l2);
        cJSON_AddNumberToObject(mc, "threads", b.threads);
    }
    if (wants(&b, "models") || wants(&b, "sweep")) bench_models(&b);
    if (wants(&b, "flash")) {
        char path[160] = "";
        double ceiling = bench_ceiling(&b, path, sizeof path);
        bench_flash(&b, ceiling, path);
    }
    if (wants(&b, "memory")) bench_memory(&b);
    if (wants(&b, "table")) bench_table(&b);
    omp_set_num_threads(all);
    if (b.json) {
        char *txt = cJSON_Print(b.doc);
        printf("%s\n", txt);
        free(txt);
        cJSON_Delete(b.doc);
    }
    return 0;
}
