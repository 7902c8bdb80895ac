/* emu_attention.cc: the attention kernels of gpu/ (their real source, included below) run
 * on the SIMT emulator of emu.h and compared with model/attention.c. No GPU needed:
 *   tests/gpu/emu/run.sh
 * Checks the fp32 flash kernel, the bf16 and fp16 tensor-core kernels, the naive kernels
 * and capture, causal and not, every d_head, T not a multiple of any tile, each encoding
 * path (plain, RoPE-rotated q and k, ALiBi). Prints one line per kernel and exits 1 on
 * any error over tolerance or any unwritten (NaN-poisoned) element. */
#include "emu.h"

#include "../../../gpu/attention.cu"
#include "../../../gpu/attention_mma.cu"

#include <cstdio>

extern "C" {
#include "attention.h"
#include "common.h"
#include "posenc.h"
}

/* the kernels' dynamic shared memory (blocks run one at a time) */
alignas(16) float4 smem_f4[256 * 1024 / 16];
alignas(16) uint4 smem_u4[256 * 1024 / 16];
alignas(16) float cap_smem[64 * 1024];

static double rel_err(const float *a, const float *b, size_t n, int *nan) {
    double num = 0, den = 1e-30;
    for (size_t i = 0; i < n; i++) {
        if (a[i] != a[i]) (*nan)++;
        num = fmax(num, fabs((double)a[i] - b[i]));
        den = fmax(den, fabs((double)b[i]));
    }
    return num / den;
}

struct Case {
    int nh, T, hs, causal, enc;
    std::vector<float> q, k, v, slopes, out, lse, P;   /* P, out, lse: the CPU reference */
};

static Case make_case(int T, int hs, int enc, int causal, int round16) {
    Case c{2, T, hs, causal, enc};
    size_t n = (size_t)c.nh * T * hs;
    c.q.resize(n); c.k.resize(n); c.v.resize(n);
    c.out.resize(n); c.lse.resize((size_t)c.nh * T); c.P.resize((size_t)c.nh * T * T);
    c.slopes.assign(c.nh, 0.0f);
    AvzRng r;
    avz_rng_init(&r, 1000u * T + hs * 7u + enc * 3u + causal);
    for (size_t i = 0; i < n; i++) {
        c.q[i] = 2.0f * avz_rng_normal(&r);
        c.k[i] = avz_rng_normal(&r);
        c.v[i] = avz_rng_normal(&r);
    }
    if (enc == 2) posenc_alibi_slopes(c.slopes.data(), c.nh);
    for (int h = 0; h < c.nh; h++) {
        size_t off = (size_t)h * T * hs;
        if (enc == 1) {
            posenc_rope_apply(c.q.data() + off, T, hs, 10000.0f, 0, +1);
            posenc_rope_apply(c.k.data() + off, T, hs, 10000.0f, 0, +1);
        }
    }
    if (round16)   /* the reference on the 16-bit inputs: what the tensor cores multiply */
        for (size_t i = 0; i < n; i++) {
            c.q[i] = __bfloat162float(__float2bfloat16_rn(c.q[i]));
            c.k[i] = __bfloat162float(__float2bfloat16_rn(c.k[i]));
            c.v[i] = __bfloat162float(__float2bfloat16_rn(c.v[i]));
        }
    for (int h = 0; h < c.nh; h++) {
        size_t off = (size_t)h * T * hs;
        AttnShape s = {T, hs, 1.0f / sqrtf((float)hs), c.slopes[h], causal, hs};
        attn_naive(&s, c.q.data() + off, c.k.data() + off, c.v.data() + off,
                   c.P.data() + (size_t)h * T * T, c.out.data() + off, c.lse.data() + (size_t)h * T);
    }
    return c;
}

static AttnArgs args_for(const Case &c, float *out, float *lse, const float *slopes) {
    return AttnArgs{1, c.nh, c.T, c.hs, 1.0f / sqrtf((float)c.hs), c.causal,
                    c.enc == 2 ? slopes : nullptr, out,
                    (long long)c.nh * c.T * c.hs, (long long)c.T * c.hs, c.hs, lse};
}

template <int D, int BK> static void run_fp32(const Case &c, float *out, float *lse) {
    AttnArgs a = args_for(c, out, lse, c.slopes.data());
    emu_launch(dim3(cdiv(c.T, 64), c.nh), dim3(256), flash_fp32_kernel<D, BK>, a, c.q.data(),
               c.k.data(), c.v.data());
}

template <typename H, int D> static void run_mma(const Case &c, float *out, float *lse) {
    size_t n = c.q.size();
    std::vector<uint16_t> q(n), k(n), v(n);
    for (size_t i = 0; i < n; i++) {
        q[i] = emu_from_f<H>(c.q[i]);
        k[i] = emu_from_f<H>(c.k[i]);
        v[i] = emu_from_f<H>(c.v[i]);
    }
    AttnArgs a = args_for(c, out, lse, c.slopes.data());
    emu_launch(dim3(cdiv(c.T, 64), c.nh), dim3(128), flash_mma_kernel<H, D>, a,
               (const H *)q.data(), (const H *)k.data(), (const H *)v.data());
}

static void run_kind(int kind, const Case &c, float *out, float *lse, float *P) {
    AttnArgs a = args_for(c, out, lse, c.slopes.data());
    switch (kind) {
    case 0:
        if (c.hs == 16) run_fp32<16, 64>(c, out, lse);
        else if (c.hs == 32) run_fp32<32, 64>(c, out, lse);
        else if (c.hs == 64) run_fp32<64, 64>(c, out, lse);
        else run_fp32<128, 32>(c, out, lse);
        break;
    case 1: case 2: {
        const bool bf = kind == 1;
        if (c.hs == 16) bf ? run_mma<__nv_bfloat16, 16>(c, out, lse) : run_mma<__half, 16>(c, out, lse);
        else if (c.hs == 32) bf ? run_mma<__nv_bfloat16, 32>(c, out, lse) : run_mma<__half, 32>(c, out, lse);
        else if (c.hs == 64) bf ? run_mma<__nv_bfloat16, 64>(c, out, lse) : run_mma<__half, 64>(c, out, lse);
        else bf ? run_mma<__nv_bfloat16, 128>(c, out, lse) : run_mma<__half, 128>(c, out, lse);
        break;
    }
    case 3: {   /* naive: the three kernels */
        const size_t ns = (size_t)c.nh * c.T * c.T, rows = (size_t)c.nh * c.T;
        const size_t no = rows * c.hs;
        emu_launch(dim3(cdiv(ns, 256)), dim3(256), naive_scores_kernel, a, c.q.data(), c.k.data(),
                   P, ns);
        emu_launch(dim3(cdiv(rows, 8)), dim3(256), naive_softmax_kernel, a, P, (int)rows);
        emu_launch(dim3(cdiv(no, 256)), dim3(256), naive_pv_kernel, a, (const float *)P,
                   c.v.data(), no);
        break;
    }
    }
}

static const char *const KIND[] = {"fp32", "bf16", "fp16", "naive"};
static const char *const ENC[] = {"plain", "rope", "alibi"};

int main(int argc, char **argv) {
    const int quick = argc > 1 && !strcmp(argv[1], "--quick");
    const std::vector<int> Ts = quick ? std::vector<int>{7, 65} : std::vector<int>{1, 7, 65, 130};
    const int HS[] = {16, 32, 64, 128};
    int bad = 0;
    for (int kind = 0; kind < 4; kind++) {
        double worst = 0, worst_cap = 0;
        for (int causal = 1; causal >= 0; causal--)
            for (int enc = 0; enc < 3; enc++)
                for (int T : Ts)
                    for (int hs : HS) {
                        /* the 16-bit kernels are checked against the reference on rounded
                         * inputs, where only P's rounding remains: a tighter test */
                        Case c = make_case(T, hs, enc, causal, kind == 1 || kind == 2);
                        size_t n = c.q.size(), nl = c.lse.size(), nP = c.P.size();
                        std::vector<float> out(n, NAN), lse(nl, NAN), P(nP, NAN), Pc(nP, NAN);
                        run_kind(kind, c, out.data(), lse.data(), P.data());
                        int nan = 0;
                        double e = std::max(rel_err(out.data(), c.out.data(), n, &nan),
                                            rel_err(lse.data(), c.lse.data(), nl, &nan));
                        const double tol = kind == 1 ? 1e-2 : kind == 2 ? 2e-3 : 1e-5;
                        if (nan || !(e <= tol)) {
                            bad++;
                            printf("FAIL %s %s causal=%d T=%d hs=%d: rel err %.3e (%d NaN)\n",
                                   KIND[kind], ENC[enc], causal, T, hs, e, nan);
                        }
                        worst = std::max(worst, e);
                        if (kind == 0) {   /* capture from this kernel's lse */
                            emu_launch(dim3(cdiv(T, 32), cdiv(T, 32), c.nh), dim3(32, 8),
                                       capture_kernel, T, hs, 1.0f / sqrtf((float)hs), causal,
                                       (const float *)(enc == 2 ? c.slopes.data() : nullptr),
                                       (const float *)c.q.data(), (const float *)c.k.data(),
                                       (const float *)lse.data(), Pc.data());
                            int cnan = 0;
                            double ec = rel_err(Pc.data(), c.P.data(), nP, &cnan);
                            if (cnan || !(ec <= 1e-5)) {
                                bad++;
                                printf("FAIL capture %s causal=%d T=%d hs=%d: rel err %.3e (%d "
                                       "NaN)\n", ENC[enc], causal, T, hs, ec, cnan);
                            }
                            worst_cap = std::max(worst_cap, ec);
                        }
                    }
        printf("%-6s worst rel err %.2e%s\n", KIND[kind], worst,
               kind == 1 || kind == 2 ? " (vs the reference on bf16-rounded inputs)" : "");
        if (kind == 0) printf("%-6s worst rel err %.2e\n", "capture", worst_cap);
        fflush(stdout);
    }
    printf(bad ? "emulation: %d FAILURES\n" : "emulation: all kernels agree with the CPU\n", bad);
    return bad ? 1 : 0;
}
