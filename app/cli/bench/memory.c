/* memory.c: bench sections (d) and (e): the extra memory flash attention needs next to
 * naive attention at T = 16384, and the table of naive vs the reference flash vs the
 * fast flash on one thread. */
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

void bench_memory(Bench *b) {
    int T = b->quick ? 1024 : 16384, hs = b->hs;
    size_t n = (size_t)T * hs, naive = sizeof(float) * (size_t)T * T;
    float *q = avz_xmalloc(4 * n), *k = avz_xmalloc(4 * n), *v = avz_xmalloc(4 * n);
    float *o = avz_xmalloc(4 * n), *lse = avz_xmalloc(4 * (size_t)T);
    AvzRng r;
    avz_rng_init(&r, 5);
    bench_fill_random(q, n, &r);
    bench_fill_random(k, n, &r);
    bench_fill_random(v, n, &r);
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
    fmt_bytes(fb, sizeof fb, (double)(flash));
    fmt_bytes(fg, sizeof fg, (double)(grew));
    fmt_bytes(nb, sizeof nb, (double)(naive));
    fmt_bytes(ng, sizeof ng, (double)(naive_grew));
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

void bench_table(Bench *b) {
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
        bench_fill_random(q, n, &r);
        bench_fill_random(k, n, &r);
        bench_fill_random(v, n, &r);
        double ms[3], gf[3];
        for (int kind = 0; kind < 3; kind++) {
            OneThreadRun run = {kind, {T, hs, 1.0f / sqrtf((float)hs), 0.0f, 1, hs}, NH, q, k, v, P, o[kind], lse};
            ms[kind] = bench_best_ms(run_one_thread, &run, T >= 8192 ? 1 : reps, 0);
            gf[kind] = 4.0 * T * (double)T * hs * NH / 2.0 / (ms[kind] * 1e-3) / 1e9;
        }
        char mn[32], mf[32];
        fmt_bytes(mn, sizeof mn, (double)(sizeof(float) * (size_t)T * T));
        fmt_bytes(mf, sizeof mf, (double)(attn_flash_scratch_bytes(hs)));
        double d = fmax(bench_max_diff(o[0], o[1], n), bench_max_diff(o[0], o[2], n));
        SAY(b, "%6d | %10.2f %8.2f %10s | %10.2f %8.2f %10s | %10.2f %8.2f | %9.2e\n", T, ms[0],
            gf[0], mn, ms[1], gf[1], mf, ms[2], gf[2], d);
        free(q); free(k); free(v); free(o[0]); free(o[1]); free(o[2]); free(lse); free(P);
    }
    SAY(b, "extra mem: working memory beyond q, k, v, out and lse for one head at a time "
        "(naive: the (T, T) matrix; flash: its tiles).\n");
}
