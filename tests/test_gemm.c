/* test_gemm.c: the fast matrix multiply (gemm.c) against the readable one
 * (ops_matmul_ref), on every instruction-set path this CPU can run, on shapes that are
 * not multiples of the tiles, with and without bias, with B transposed, and with any
 * number of threads (bit for bit the same result). */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "common.h"
#include "gemm.h"
#include "ops.h"

static void fill(float *x, size_t n, AvzRng *r) {
    for (size_t i = 0; i < n; i++) x[i] = avz_rng_normal(r);
}

/* max |a - b| / max |b| */
static double rel_err(const float *a, const float *b, size_t n) {
    double num = 0, den = 1e-30;
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs((double)a[i] - b[i]));
        den = fmax(den, fabs((double)b[i]));
    }
    return num / den;
}

/* gemm_sgemm against ops_matmul_ref for one shape; B given as is or transposed. */
static void check_shape(const char *isa, int M, int N, int K, int with_bias, int bt) {
    AvzRng r;
    avz_rng_init(&r, 100u * M + 10u * N + K);
    float *A = malloc(4 * (size_t)M * K), *B = malloc(4 * (size_t)K * N);
    float *Bt = malloc(4 * (size_t)K * N), *bias = malloc(4 * (size_t)N);
    float *ref = malloc(4 * (size_t)M * N), *out = malloc(4 * (size_t)M * N);
    fill(A, (size_t)M * K, &r);
    fill(B, (size_t)K * N, &r);
    fill(bias, N, &r);
    for (int k = 0; k < K; k++)
        for (int n = 0; n < N; n++) Bt[(size_t)n * K + k] = B[(size_t)k * N + n];
    ops_matmul_ref(ref, A, B, with_bias ? bias : NULL, M, K, N);
    for (size_t i = 0; i < (size_t)M * N; i++) out[i] = NAN;   /* every element must be written */
    if (bt) gemm_sgemm(M, N, K, A, K, Bt, K, 1, out, N, with_bias ? bias : NULL);
    else gemm_sgemm(M, N, K, A, K, B, N, 0, out, N, with_bias ? bias : NULL);
    double e = rel_err(out, ref, (size_t)M * N);
    cr_expect(e <= 1e-5, "%s M=%d N=%d K=%d bias=%d bt=%d: rel err %.3e", isa, M, N, K, with_bias,
              bt, e);
    free(A); free(B); free(Bt); free(bias); free(ref); free(out);
}

static void every_shape(const char *isa) {
    if (!gemm_select(isa)) cr_skip_test("this CPU cannot run the %s kernels", isa);
    static const int Ms[] = {1, 5, 6, 7, 64, 65, 257}, Ns[] = {1, 7, 16, 63, 64, 65, 192, 650};
    static const int Ks[] = {1, 3, 64, 100, 600};   /* 600: several k blocks */
    for (int mi = 0; mi < 7; mi++)
        for (int ni = 0; ni < 8; ni++)
            for (int ki = 0; ki < 5; ki++)
                check_shape(isa, Ms[mi], Ns[ni], Ks[ki], (mi + ni + ki) % 2, (mi + ki) % 3 == 0);
}

Test(gemm, matches_reference_avx512) { every_shape("avx512"); }
Test(gemm, matches_reference_avx2) { every_shape("avx2"); }
Test(gemm, matches_reference_portable) { every_shape("portable"); }

Test(gemm, the_model_shapes_through_ops_matmul) {
    /* N = 64..256 rows, C = 64..128, OC up to 4C, and the LM head's V = 650 */
    int shapes[][3] = {{64, 64, 192}, {64, 256, 64}, {256, 128, 512}, {256, 512, 128},
                       {200, 128, 650}};
    for (int i = 0; i < 5; i++) {
        int N = shapes[i][0], C = shapes[i][1], OC = shapes[i][2];
        AvzRng r;
        avz_rng_init(&r, i + 1);
        float *x = malloc(4 * (size_t)N * C), *w = malloc(4 * (size_t)C * OC);
        float *b = malloc(4 * (size_t)OC), *o1 = malloc(4 * (size_t)N * OC), *o2 = malloc(4 * (size_t)N * OC);
        fill(x, (size_t)N * C, &r);
        fill(w, (size_t)C * OC, &r);
        fill(b, OC, &r);
        ops_matmul_ref(o1, x, w, b, N, C, OC);
        ops_matmul(o2, x, w, b, N, C, OC);
        double e = rel_err(o2, o1, (size_t)N * OC);
        cr_expect(e <= 1e-5, "N=%d C=%d OC=%d: rel err %.3e", N, C, OC, e);
        free(x); free(w); free(b); free(o1); free(o2);
    }
}

Test(gemm, same_bits_with_any_number_of_threads) {
    int M = 301, N = 650, K = 200;
    AvzRng r;
    avz_rng_init(&r, 9);
    float *A = malloc(4 * (size_t)M * K), *B = malloc(4 * (size_t)K * N), *bias = malloc(4 * N);
    float *o1 = malloc(4 * (size_t)M * N), *o2 = malloc(4 * (size_t)M * N);
    fill(A, (size_t)M * K, &r);
    fill(B, (size_t)K * N, &r);
    fill(bias, N, &r);
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    gemm_sgemm(M, N, K, A, K, B, N, 0, o1, N, bias);
    for (int nt = 2; nt <= 3; nt++) {
        omp_set_num_threads(nt);
        gemm_sgemm(M, N, K, A, K, B, N, 0, o2, N, bias);
        cr_assert(memcmp(o1, o2, 4 * (size_t)M * N) == 0, "%d threads differ from 1", nt);
    }
    omp_set_num_threads(threads);
    free(A); free(B); free(bias); free(o1); free(o2);
}

/* run_panels takes one of two loop orders: panel by panel when all of A fits in half of
 * L2 (a text's few rows), k block by k block over row groups otherwise (training batches).
 * Both, on either side of this machine's L2 bound: the reference's values, and the same
 * bits on 1, 2 and 3 threads. */
Test(gemm, both_loop_orders_match_the_reference_on_any_number_of_threads) {
    int K = 600, N = 650, bound = (int)(cpu_caches()->l2 / 2 / (sizeof(float) * K));
    int Ms[] = {bound > 7 ? bound - 7 : 1, bound + 7};
    int threads = omp_get_max_threads();
    for (int i = 0; i < 2; i++) {
        int M = Ms[i];
        AvzRng r;
        avz_rng_init(&r, 20 + i);
        float *A = malloc(4 * (size_t)M * K), *B = malloc(4 * (size_t)K * N), *bias = malloc(4 * N);
        float *ref = malloc(4 * (size_t)M * N), *o1 = malloc(4 * (size_t)M * N);
        float *o2 = malloc(4 * (size_t)M * N);
        fill(A, (size_t)M * K, &r);
        fill(B, (size_t)K * N, &r);
        fill(bias, N, &r);
        ops_matmul_ref(ref, A, B, bias, M, K, N);
        omp_set_num_threads(1);
        gemm_sgemm(M, N, K, A, K, B, N, 0, o1, N, bias);
        double e = rel_err(o1, ref, (size_t)M * N);
        cr_expect(e <= 1e-5, "M=%d (%s): rel err %.3e", M, i ? "row groups" : "panels", e);
        for (int nt = 2; nt <= 3; nt++) {
            omp_set_num_threads(nt);
            gemm_sgemm(M, N, K, A, K, B, N, 0, o2, N, bias);
            cr_expect(memcmp(o1, o2, 4 * (size_t)M * N) == 0, "M=%d: %d threads differ from 1",
                      M, nt);
        }
        free(A); free(B); free(bias); free(ref); free(o1); free(o2);
    }
    omp_set_num_threads(threads);
}

Test(gemm, the_best_kernels_are_picked) {
    const GemmKernels *k = gemm_kernels();
    cr_assert(k && k->nr_wide % k->nr_narrow == 0, "kernels");
    cr_assert(gemm_kernels_named("portable") != NULL, "the portable path always runs");
    cr_assert(gemm_kernels_named("sse9") == NULL && !gemm_select("sse9"), "unknown set accepted");
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4") && !getenv("AVZ_ISA"))
        cr_assert_str_eq(k->isa, "avx512", "an AVX-512 CPU should get the AVX-512 kernels");
#endif
}

/* B packed once (gemm_pack_b) gives the same bits as gemm_sgemm, which packs (or reads in
 * place) on every call: the weight cache of the model relies on it. */
static void packed_every_shape(const char *isa) {
    if (!gemm_select(isa)) cr_skip_test("this CPU cannot run the %s kernels", isa);
    static const int Ms[] = {1, 6, 7, 64, 257}, Ns[] = {1, 16, 65, 192, 636}, Ks[] = {1, 64, 600};
    GemmPackedB pk;
    memset(&pk, 0, sizeof pk);
    for (int mi = 0; mi < 5; mi++)
        for (int ni = 0; ni < 5; ni++)
            for (int ki = 0; ki < 3; ki++) {
                int M = Ms[mi], N = Ns[ni], K = Ks[ki], bt = (mi + ni) % 2, with_bias = !bt;
                AvzRng r;
                avz_rng_init(&r, 7u * M + 3u * N + K);
                float *A = malloc(4 * (size_t)M * K), *B = malloc(4 * (size_t)K * N);
                float *bias = malloc(4 * (size_t)N), *o1 = malloc(4 * (size_t)M * N);
                float *o2 = malloc(4 * (size_t)M * N);
                fill(A, (size_t)M * K, &r);
                fill(B, (size_t)K * N, &r);
                fill(bias, N, &r);
                int ldb = bt ? K : N;   /* B read as (K, N), or as its (N, K) transpose */
                gemm_sgemm(M, N, K, A, K, B, ldb, bt, o1, N, with_bias ? bias : NULL);
                gemm_pack_b(&pk, N, K, B, ldb, bt);   /* reuses pk's memory when it can */
                for (size_t i = 0; i < (size_t)M * N; i++) o2[i] = NAN;
                gemm_sgemm_packed(M, &pk, A, K, o2, N, with_bias ? bias : NULL);
                cr_expect(memcmp(o1, o2, 4 * (size_t)M * N) == 0,
                          "%s M=%d N=%d K=%d bt=%d: packed differs from unpacked (rel err %.3e)",
                          isa, M, N, K, bt, rel_err(o2, o1, (size_t)M * N));
                free(A); free(B); free(bias); free(o1); free(o2);
            }
    gemm_packed_free(&pk);
}

Test(gemm, packed_once_same_bits_avx512) { packed_every_shape("avx512"); }
Test(gemm, packed_once_same_bits_avx2) { packed_every_shape("avx2"); }
Test(gemm, packed_once_same_bits_portable) { packed_every_shape("portable"); }
