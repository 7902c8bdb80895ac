/* bench_gpu.cu: `attnviz bench --device cuda`. Two tables:
 *
 * 1. Attention alone, forward, causal: TFLOP/s of our kernels for T = 512 ... 16384 and
 *    d_head 64 and 128, counted as FlashAttention's benchmarks count them (4 T^2 d per
 *    head, halved when causal), on FlashAttention's shapes (B * T = 16k, H * d = 2048:
 *    enough heads to fill any GPU). The naive kernels run on as many heads as fit their
 *    (T, T) matrices into 2 GiB; their rate is per head, so it compares all the same.
 *    tests/bench/sdpa.py reads the --json output and times PyTorch on the same shapes.
 * 2. Each shipped model's whole forward pass with every map captured, end to end (host
 *    to host), as the app runs it: CUDA graph replay, kernel by kernel, and the CPU.
 *
 * Timing (gpu/ has no profiler in it): CUDA events around each run, after warm-up runs,
 * median of the repeats. Inputs are random normals generated on the device, never zeros;
 * outputs are poisoned with NaN before the first run and checked after the last. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <algorithm>
#include <vector>

#include "gpu_common.cuh"

extern "C" {
#include "attention.h"
#include "model.h"
#include "tokenizer.h"
}

#define BENCH_TRY(call)                                                                  \
    do {                                                                                 \
        AvzCode rc_ = (call);                                                            \
        if (rc_ != AVZ_OK) {                                                             \
            fprintf(stderr, "attnviz bench: %s\n", err);                                 \
            return rc_;                                                                  \
        }                                                                                \
    } while (0)

typedef struct {
    int min_t, max_t, reps, quick, noncausal, no_model;
    const char *json, *model;
} BenchOpts;

typedef struct {
    int T, d, B, H, causal, heads_timed;
    const char *kernel;
    double ms, tflops, err;   /* err: max relative difference to our fp32 kernel */
} AttnRow;

static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

static void fmt_bytes(double b, char *out, size_t len) {
    if (b >= 1073741824.0) snprintf(out, len, "%.1f GiB", b / 1073741824.0);
    else if (b >= 1048576.0) snprintf(out, len, "%.1f MiB", b / 1048576.0);
    else snprintf(out, len, "%.0f KiB", b / 1024.0);
}

/* max |a - b| / max |b|, and whether a has a NaN (an element no kernel wrote) */
static double rel_err(const float *a, const float *b, size_t n, int *nan) {
    double num = 0, den = 1e-30;
    for (size_t i = 0; i < n; i++) {
        if (a[i] != a[i]) *nan = 1;
        num = fmax(num, fabs((double)a[i] - b[i]));
        den = fmax(den, fabs((double)b[i]));
    }
    return num / den;
}

/* ---- attention ------------------------------------------------------------------------- */

typedef struct {
    int BH, T, d;
    float *q, *k, *v, *out, *lse, *P;   /* fp32 inputs, output, lse, naive scratch */
    void *b16, *h16;                    /* (3, BH, T, d) bf16 and fp16 copies of q, k, v */
} AttnBufs;

/* Times one kernel on the first `heads` heads: median ms of reps after 2 warm-ups. */
static AvzCode time_kernel(GpuAttnKind kind, const AttnBufs *bf, int heads, int causal, int reps,
                           double *ms, char *err) {
    const size_t n = (size_t)bf->BH * bf->T * bf->d;
    AttnArgs a = {1, heads, bf->T, bf->d, 1.0f / sqrtf((float)bf->d), causal, NULL, bf->out,
                  (long long)heads * bf->T * bf->d, (long long)bf->T * bf->d, bf->d, bf->lse};
    cudaEvent_t e0, e1;
    CUDA_TRY(cudaEventCreate(&e0));
    CUDA_TRY(cudaEventCreate(&e1));
    std::vector<double> times;
    AvzCode rc = AVZ_OK;
    for (int r = 0; r < reps + 2 && rc == AVZ_OK; r++) {
        CUDA_TRY(cudaEventRecord(e0, 0));
        if (kind == GPU_ATTN_FP32) rc = attn_flash_fp32_launch(&a, bf->q, bf->k, bf->v, 0, err);
        else if (kind == GPU_ATTN_NAIVE)
            rc = attn_naive_launch(&a, bf->q, bf->k, bf->v, bf->P, 0, err);
        else {
            const char *base = (const char *)(kind == GPU_ATTN_BF16 ? bf->b16 : bf->h16);
            rc = attn_flash_mma_launch(&a, base, base + 2 * n, base + 4 * n,
                                       kind == GPU_ATTN_BF16, 0, err);
        }
        CUDA_TRY(cudaEventRecord(e1, 0));
        CUDA_TRY(cudaEventSynchronize(e1));
        float t = 0;
        CUDA_TRY(cudaEventElapsedTime(&t, e0, e1));
        if (r >= 2) times.push_back(t);
    }
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    *ms = median(times);
    return rc;
}

static AvzCode bench_shape(int T, int d, int causal, const BenchOpts *o, std::vector<AttnRow> &rows,
                           char *err) {
    const int H = 2048 / d, B = T >= 16384 ? 1 : 16384 / T, BH = B * H;
    const size_t n = (size_t)BH * T * d;
    /* the naive kernels get as many heads as fit 2 GiB of P */
    const size_t per_head = (size_t)T * T * sizeof(float);
    const int naive_heads = (int)std::max<size_t>(1, std::min<size_t>(BH, (2ull << 30) / per_head));
    AttnBufs bf = {BH, T, d};
    void *mem = NULL;
    const size_t bytes = 4 * n * 4 + 4 * (size_t)BH * T + 2 * 2 * 3 * n + per_head * naive_heads;
    CUDA_TRY(cudaMalloc(&mem, bytes));
    char *p = (char *)mem;
    bf.q = (float *)p; p += 4 * n;
    bf.k = (float *)p; p += 4 * n;
    bf.v = (float *)p; p += 4 * n;
    bf.out = (float *)p; p += 4 * n;
    bf.lse = (float *)p; p += 4 * (size_t)BH * T;
    bf.b16 = p; p += 2 * 3 * n;
    bf.h16 = p; p += 2 * 3 * n;
    bf.P = (float *)p;
    AvzCode rc = AVZ_OK;
    std::vector<float> ref, got;
    const int check_heads = std::min(BH, 4);
    const size_t ncheck = (size_t)check_heads * T * d;
    const GpuAttnKind kinds[] = {GPU_ATTN_FP32, GPU_ATTN_BF16, GPU_ATTN_FP16, GPU_ATTN_NAIVE};
    do {
        if ((rc = fill_normal_launch(bf.q, n, 1000 + T + d, 1.0f, 0, err))) break;
        if ((rc = fill_normal_launch(bf.k, n, 2000 + T + d, 1.0f, 0, err))) break;
        if ((rc = fill_normal_launch(bf.v, n, 3000 + T + d, 1.0f, 0, err))) break;
        for (int i = 0; i < 3 && !rc; i++) {
            float *src = i == 0 ? bf.q : i == 1 ? bf.k : bf.v;
            rc = convert_to_16_launch((char *)bf.b16 + 2 * i * n, src, n, 1, 0, 0, err);
            if (!rc) rc = convert_to_16_launch((char *)bf.h16 + 2 * i * n, src, n, 0, 0, 0, err);
        }
        if (rc) break;
        for (int ki = 0; ki < 4 && !rc; ki++) {
            const GpuAttnKind kind = kinds[ki];
            const int heads = kind == GPU_ATTN_NAIVE ? naive_heads : BH;
            if (cudaMemset(bf.out, 0xff, 4 * n) != cudaSuccess) {   /* NaN poison */
                rc = gpu_fail(err, __FILE__, __LINE__, "cudaMemset", cudaGetLastError());
                break;
            }
            double ms = 0;
            rc = time_kernel(kind, &bf, heads, causal, kind == GPU_ATTN_NAIVE ? 3 : o->reps, &ms,
                             err);
            if (rc) break;
            std::vector<float> &dst = kind == GPU_ATTN_FP32 ? ref : got;
            const size_t nc = std::min(ncheck, (size_t)heads * T * d);
            dst.resize(nc);
            cudaError_t e = cudaMemcpy(dst.data(), bf.out, 4 * nc, cudaMemcpyDeviceToHost);
            if (e != cudaSuccess) { rc = gpu_fail(err, __FILE__, __LINE__, "cudaMemcpy", e); break; }
            int nan = 0;
            double er = kind == GPU_ATTN_FP32 ? 0.0 : rel_err(got.data(), ref.data(), nc, &nan);
            if (kind == GPU_ATTN_FP32) rel_err(ref.data(), ref.data(), nc, &nan);
            if (nan) er = NAN;
            const double flops = 4.0 * T * (double)T * d * heads / (causal ? 2.0 : 1.0);
            rows.push_back({T, d, B, H, causal, heads, gpu_attn_name(kind), ms,
                            flops / (ms * 1e-3) / 1e12, er});
        }
    } while (0);
    cudaFree(mem);
    return rc;
}

static void print_attention(const std::vector<AttnRow> &rows) {
    printf("\nattention forward (TFLOP/s = 4 T^2 d per head, halved when causal; err = max "
           "|x - fp32| / max |fp32|)\n");
    printf("%-6s %-4s %-7s %-4s %9s %9s %9s %9s %9s %10s %10s %9s\n", "T", "d", "BxH", "caus",
           "fp32", "bf16", "fp16", "naive", "fp32/nv", "naive P", "flash lse", "bf16 err");
    for (size_t i = 0; i + 3 < rows.size(); i += 4) {
        const AttnRow &f = rows[i], &b = rows[i + 1], &h = rows[i + 2], &nv = rows[i + 3];
        char bh[32], pbytes[32], lbytes[32];
        snprintf(bh, sizeof bh, "%dx%d", f.B, f.H);
        fmt_bytes(4.0 * f.B * f.H * (double)f.T * f.T, pbytes, sizeof pbytes);
        fmt_bytes(4.0 * f.B * f.H * (double)f.T, lbytes, sizeof lbytes);
        printf("%-6d %-4d %-7s %-4s %9.2f %9.2f %9.2f %9.2f %8.1fx %10s %10s %9.1e\n", f.T, f.d,
               bh, f.causal ? "yes" : "no", f.tflops, b.tflops, h.tflops, nv.tflops,
               f.tflops / nv.tflops, pbytes, lbytes, b.err);
    }
}

/* ---- the whole model -------------------------------------------------------------------- */

typedef struct {
    char name[64];
    int T, L, NH;
    double ms_graph, ms_eager, ms_cpu, err;
} ModelRow;

/* A random model of the shipped shape, for when assets/models/ is empty. */
static AvzCode random_model(Model *m, char *err) {
    const int nw = 2000;
    std::vector<char *> words(nw);
    std::vector<char> store((size_t)nw * 16);
    for (int i = 0; i < nw; i++) {
        words[i] = &store[(size_t)i * 16];
        snprintf(words[i], 16, i == 0 ? "<bos>" : i == 1 ? "<unk>" : "w%d", i);
    }
    Vocab v;
    AvzCode rc = vocab_from_words(&v, (const char *const *)words.data(), nw, err);
    if (rc) return rc;
    ModelConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.n_layer = 2;
    cfg.n_head = 4;
    cfg.n_embd = 64;
    cfg.n_positions = 64;
    cfg.vocab_size = v.n;
    cfg.layer_norm_epsilon = 1e-5f;
    cfg.pe = PE_ROPE;
    cfg.rope_theta = 10000.0f;
    snprintf(cfg.tokenizer, sizeof cfg.tokenizer, "word");
    rc = model_create(m, &cfg, &v, err);
    if (rc) return rc;
    model_init_random(m, 7);
    return AVZ_OK;
}

/* forward + every map captured, host to host; median ms */
static AvzCode time_model(Backend *be, Model *m, const int *ids, int T, int reps, float *maps,
                          double *ms, char *err) {
    const int L = m->cfg.n_layer, NH = m->cfg.n_head;
    std::vector<double> times;
    for (int r = 0; r < reps + 3; r++) {
        const double t0 = avz_now();
        AvzCode rc = be->forward(be, m, ids, NULL, 1, T, NULL, err);
        if (rc) return rc;
        for (int l = 0; l < L; l++)
            for (int h = 0; h < NH; h++)
                be->capture(be, m, l, h, 0, maps + ((size_t)l * NH + h) * T * T);
        if (r >= 3) times.push_back(1e3 * (avz_now() - t0));
    }
    *ms = median(times);
    return AVZ_OK;
}

static AvzCode bench_model(const char *dir, const char *name, std::vector<ModelRow> &rows,
                           char *err) {
    Model m;
    AvzCode rc = dir ? model_load(&m, dir, err) : random_model(&m, err);
    if (rc) return rc;
    ModelRow row;
    memset(&row, 0, sizeof row);
    snprintf(row.name, sizeof row.name, "%s", name);
    const int T = std::min(64, config_max_len(&m.cfg));
    row.T = T;
    row.L = m.cfg.n_layer;
    row.NH = m.cfg.n_head;
    std::vector<int> ids(T);
    AvzRng r;
    avz_rng_init(&r, 5);
    for (int t = 0; t < T; t++)
        ids[t] = t == 0 ? 0 : 2 + (int)(avz_rng_u64(&r) % (uint64_t)(m.cfg.vocab_size - 2));
    const size_t nmaps = (size_t)m.cfg.n_layer * m.cfg.n_head * T * T;
    std::vector<float> maps(nmaps), maps_cpu(nmaps);
    char why[AVZ_ERR_LEN];
    Backend *g = gpu_backend_create(why);
    if (!g) {
        model_free(&m);
        return avz_fail(err, AVZ_ERR_INTERNAL, "CUDA unavailable: %s", why);
    }
    Backend *cpu = backend_cpu_create();
    gpu_backend_set_graphs(g, 1);
    rc = time_model(g, &m, ids.data(), T, 50, maps.data(), &row.ms_graph, err);
    if (!rc) {
        gpu_backend_set_graphs(g, 0);
        rc = time_model(g, &m, ids.data(), T, 50, maps.data(), &row.ms_eager, err);
    }
    std::vector<float> logits((size_t)T * m.cfg.vocab_size);
    if (!rc) memcpy(logits.data(), m.acts.logits, sizeof(float) * logits.size());
    if (!rc) rc = time_model(cpu, &m, ids.data(), T, 10, maps_cpu.data(), &row.ms_cpu, err);
    if (!rc) {
        int nan = 0;
        row.err = std::max(rel_err(logits.data(), m.acts.logits, logits.size(), &nan),
                           rel_err(maps.data(), maps_cpu.data(), nmaps, &nan));
        if (nan) row.err = NAN;
        rows.push_back(row);
    }
    backend_close(cpu);
    backend_close(g);
    model_free(&m);
    return rc;
}

static void print_models(const std::vector<ModelRow> &rows) {
    printf("\nwhole forward pass + every map captured, host to host (median ms; err = max rel "
           "difference to the CPU, logits and maps)\n");
    printf("%-12s %-5s %-6s %11s %11s %9s %9s\n", "model", "T", "LxNH", "cuda graph",
           "cuda eager", "cpu", "err");
    for (const ModelRow &r : rows) {
        char lh[16];
        snprintf(lh, sizeof lh, "%dx%d", r.L, r.NH);
        printf("%-12s %-5d %-6s %11.3f %11.3f %9.3f %9.1e\n", r.name, r.T, lh, r.ms_graph,
               r.ms_eager, r.ms_cpu, r.err);
    }
}

/* ---- json and main ----------------------------------------------------------------------- */

static int write_json(const char *path, const char *device, const std::vector<AttnRow> &ar,
                      const std::vector<ModelRow> &mr) {
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "attnviz bench: cannot write %s\n", path);
        return 2;
    }
    fprintf(f, "{\n  \"device\": \"%s\",\n  \"attention\": [\n", device);
    for (size_t i = 0; i < ar.size(); i++) {
        const AttnRow &r = ar[i];
        fprintf(f, "    {\"T\": %d, \"d\": %d, \"B\": %d, \"H\": %d, \"causal\": %d, "
                "\"kernel\": \"%s\", \"heads_timed\": %d, \"ms\": %.6f, \"tflops\": %.4f, "
                "\"err_vs_fp32\": %.3e}%s\n", r.T, r.d, r.B, r.H, r.causal, r.kernel,
                r.heads_timed, r.ms, r.tflops, r.err != r.err ? -1.0 : r.err,
                i + 1 < ar.size() ? "," : "");
    }
    fprintf(f, "  ],\n  \"model\": [\n");
    for (size_t i = 0; i < mr.size(); i++) {
        const ModelRow &r = mr[i];
        fprintf(f, "    {\"name\": \"%s\", \"T\": %d, \"ms_graph\": %.4f, \"ms_eager\": %.4f, "
                "\"ms_cpu\": %.4f, \"err\": %.3e}%s\n", r.name, r.T, r.ms_graph, r.ms_eager,
                r.ms_cpu, r.err != r.err ? -1.0 : r.err, i + 1 < mr.size() ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    if (fclose(f) != 0) {
        fprintf(stderr, "attnviz bench: cannot write %s\n", path);
        return 2;
    }
    return 0;
}

static void usage(void) {
    printf("usage: attnviz bench --device cuda [--min-t T] [--max-t T] [--reps N] [--quick]\n"
           "                     [--noncausal] [--model DIR] [--no-model] [--json FILE]\n"
           "  attention TFLOP/s of our fp32, bf16, fp16 and naive GPU kernels for T = min-t\n"
           "  .. max-t (powers of two, default 512 .. 16384), d_head 64 and 128; then the\n"
           "  whole forward pass with capture of each model in assets/models/ (or --model).\n"
           "  --quick: T = 1024 and 4096 only. --noncausal: time non-causal attention too.\n");
}

static int parse(int argc, char **argv, BenchOpts *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(); return -1; }
        else if (!strcmp(a, "--quick")) o->quick = 1;
        else if (!strcmp(a, "--noncausal")) o->noncausal = 1;
        else if (!strcmp(a, "--no-model")) o->no_model = 1;
        else if (val && !strcmp(a, "--device")) i++;
        else if (val && !strcmp(a, "--json")) { o->json = val; i++; }
        else if (val && !strcmp(a, "--model")) { o->model = val; i++; }
        else if (val && (!strcmp(a, "--min-t") || !strcmp(a, "--max-t") || !strcmp(a, "--reps"))) {
            char *end;
            long x = strtol(val, &end, 10);
            if (*end || x < 1 || x > 1 << 20) {
                fprintf(stderr, "attnviz bench: %s needs a positive integer (got '%s')\n", a, val);
                return 2;
            }
            if (!strcmp(a, "--min-t")) o->min_t = (int)x;
            else if (!strcmp(a, "--max-t")) o->max_t = (int)x;
            else o->reps = (int)x;
            i++;
        } else {
            fprintf(stderr, "attnviz bench: unknown option '%s' (see --help)\n", a);
            return 2;
        }
    }
    return 0;
}

extern "C" int gpu_bench_main(int argc, char **argv) {
    BenchOpts o = {512, 16384, 10, 0, 0, 0, NULL, NULL};
    int prc = parse(argc, argv, &o);
    if (prc) return prc < 0 ? 0 : prc;
    char err[AVZ_ERR_LEN] = "", why[AVZ_ERR_LEN] = "";
    Backend *probe = gpu_backend_create(why);
    if (!probe) {
        fprintf(stderr, "attnviz bench: CUDA unavailable (%s)\n", why);
        return 1;
    }
    char device[160];
    snprintf(device, sizeof device, "%s", probe->device);
    backend_close(probe);
    printf("device: %s\n", device);
    BENCH_TRY(attn_gpu_init(err));

    std::vector<AttnRow> arows;
    std::vector<int> Ts;
    if (o.quick) Ts = {1024, 4096};
    else
        for (int T = 512; T <= 16384; T *= 2) Ts.push_back(T);
    for (int d : {64, 128})
        for (int T : Ts) {
            if (T < o.min_t || T > o.max_t) continue;
            for (int causal = 1; causal >= (o.noncausal ? 0 : 1); causal--) {
                BENCH_TRY(bench_shape(T, d, causal, &o, arows, err));
                const AttnRow &last = arows[arows.size() - 3];   /* bf16 */
                fprintf(stderr, "  T=%d d=%d causal=%d: bf16 %.1f TFLOP/s\n", T, d, causal,
                        last.tflops);
            }
        }
    print_attention(arows);

    std::vector<ModelRow> mrows;
    if (!o.no_model) {
        int n = 0;
        if (o.model) {
            BENCH_TRY(bench_model(o.model, "--model", mrows, err));
            n++;
        } else {
            static const char *const PES[] = {"none", "sinusoidal", "learned", "rope", "alibi"};
            for (const char *pe : PES) {
                char dir[256], cfg[300];
                snprintf(dir, sizeof dir, "assets/models/%s", pe);
                snprintf(cfg, sizeof cfg, "%s/config.json", dir);
                struct stat sb;
                if (stat(cfg, &sb) != 0) continue;
                BENCH_TRY(bench_model(dir, pe, mrows, err));
                n++;
            }
        }
        if (!n) BENCH_TRY(bench_model(NULL, "random-rope", mrows, err));
        print_models(mrows);
    }
    if (o.json) return write_json(o.json, device, arows, mrows);
    return 0;
}
