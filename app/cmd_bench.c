/* cmd_bench.c: `attnviz bench`, timings printed as tables. Speed is measured here,
 * never asserted in a test. Every figure of one table comes from the same run. */
#include <math.h>
#include <string.h>

#include "attention.h"
#include "cli.h"
#include "commands.h"

typedef struct {
    double ms;          /* best of the repeats, all heads */
    double gflops;
    size_t extra_bytes; /* working memory beyond q, k, v, out and lse */
} BenchResult;

static void fill_random(float *x, size_t n, AvzRng *r) {
    for (size_t i = 0; i < n; i++) x[i] = avz_rng_normal(r);
}

/* Times one attention method on NH heads of (T, hs); returns the best of reps. */
static BenchResult bench_attention(int naive, int T, int hs, int NH, int reps, const float *q,
                                   const float *k, const float *v, float *out, float *lse) {
    BenchResult r = {1e30, 0, 0};
    AttnShape s = {T, hs, 1.0f / sqrtf((float)hs), 0.0f, 1, hs};
    float *P = naive ? avz_xmalloc(sizeof(float) * (size_t)T * T) : NULL;
    for (int rep = 0; rep < reps; rep++) {
        double t0 = avz_now();
        for (int h = 0; h < NH; h++) {
            size_t off = (size_t)h * T * hs;
            if (naive) attn_naive(&s, q + off, k + off, v + off, P, out + off, lse + h * T);
            else attn_flash(&s, q + off, k + off, v + off, out + off, lse + h * T);
        }
        double ms = 1e3 * (avz_now() - t0);
        if (ms < r.ms) r.ms = ms;
    }
    free(P);
    /* FLOPs as FlashAttention counts them: 4 T^2 d per head, halved when causal */
    r.gflops = 4.0 * T * (double)T * hs * NH / 2.0 / (r.ms * 1e-3) / 1e9;
    r.extra_bytes = naive ? sizeof(float) * (size_t)T * T : attn_flash_scratch_bytes(hs);
    return r;
}

static void fmt_bytes(size_t b, char *out, size_t len) {
    if (b >= (1u << 20)) snprintf(out, len, "%.1f MiB", b / 1048576.0);
    else snprintf(out, len, "%.1f KiB", b / 1024.0);
}

static double max_diff(const float *a, const float *b, size_t n) {
    double d = 0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

int cmd_bench(int argc, char **argv) {
    int max_t = 8192, reps = 3, hs = 64, NH = 8;
    CliOpt opts[] = {
        {"--max-t", OPT_INT, &max_t, "T", "longest sequence to time (default 8192)", 0},
        {"--reps", OPT_INT, &reps, "N", "repeats, best taken (default 3)", 0},
        {"--heads", OPT_INT, &NH, "N", "heads (default 8)", 0},
        {"--head-size", OPT_INT, &hs, "D", "head size d (default 64)", 0}};
    CliCommand cmd = {"bench", "[--max-t T] [--reps N]",
                      "Naive vs flash causal attention on the CPU (one thread): time, GFLOP/s "
                      "and the working memory each needs.", opts, sizeof opts / sizeof opts[0]};
    AvzErr err;
    int rc = cli_parse(&cmd, argc, argv, 2, err);
    if (rc < 0) return 0;
    if (rc) return cmd_error(2, err);
    if (max_t < 1 || reps < 1 || NH < 1 || hs < 1 || hs > AVZ_MAX_HS)
        return cmd_error(2, "attnviz bench: --max-t, --reps, --heads must be positive and "
                         "--head-size at most 256");
    printf("causal attention, %d heads, d_head %d, one thread, best of %d\n", NH, hs, reps);
    printf("%6s | %10s %8s %10s | %10s %8s %10s | %7s %9s\n", "T", "naive ms", "GFLOP/s",
           "extra mem", "flash ms", "GFLOP/s", "extra mem", "speedup", "max diff");
    int Ts[] = {128, 512, 2048, 8192};
    for (int i = 0; i < 4 && Ts[i] <= max_t; i++) {
        int T = Ts[i];
        size_t n = (size_t)NH * T * hs;
        AvzRng r;
        avz_rng_init(&r, 42 + T);
        float *q = avz_xmalloc(4 * n), *k = avz_xmalloc(4 * n), *v = avz_xmalloc(4 * n);
        float *o1 = avz_xmalloc(4 * n), *o2 = avz_xmalloc(4 * n);
        float *lse = avz_xmalloc(sizeof(float) * NH * T);
        fill_random(q, n, &r);
        fill_random(k, n, &r);
        fill_random(v, n, &r);
        int rp = T >= 8192 ? 1 : reps;
        BenchResult bn = bench_attention(1, T, hs, NH, rp, q, k, v, o1, lse);
        BenchResult bf = bench_attention(0, T, hs, NH, rp, q, k, v, o2, lse);
        char mn[32], mf[32];
        fmt_bytes(bn.extra_bytes, mn, sizeof mn);
        fmt_bytes(bf.extra_bytes, mf, sizeof mf);
        printf("%6d | %10.2f %8.2f %10s | %10.2f %8.2f %10s | %6.2fx %9.2e\n", T, bn.ms,
               bn.gflops, mn, bf.ms, bf.gflops, mf, bn.ms / bf.ms, max_diff(o1, o2, n));
        fflush(stdout);
        free(q); free(k); free(v); free(o1); free(o2); free(lse);
    }
    printf("extra mem: working memory beyond q, k, v, out and lse for one head at a time "
           "(naive: the (T, T) matrix; flash: its tiles).\n");
    return 0;
}
