#!/usr/bin/env python3
"""sdpa.py: PyTorch's scaled_dot_product_attention on the shapes of our GPU benchmark,
on the same card, and the ratios of our kernels to it.

    build/gpu_bench --json bench.json            # or: attnviz bench --device cuda --json ...
    python3 tests/bench/sdpa.py --ours bench.json

For every (T, d_head, causal) of bench.json it times SDPA in bf16 with the FlashAttention
backend forced (SDPBackend.FLASH_ATTENTION) and, beside it, the cuDNN backend, counting
FLOPs as our bench and FlashAttention's benchmarks do (4 T^2 d per head, halved when
causal), and prints one table: our bf16 kernel against both, our fp32 kernel against our
naive one, the goals of the issue, and the whole-model timings. Without --ours it times
PyTorch alone on the default shapes (B * T = 16k, H * d = 2048).

Timing: CUDA events around each call, 3 warm-up calls, the median of --reps calls; inputs
are random normals. Needs torch with CUDA; prints why and exits 1 otherwise."""
import argparse
import json
import math
import statistics
import sys


def flops(B, H, T, d, causal):
    return 4.0 * B * H * T * T * d / (2.0 if causal else 1.0)


def time_sdpa(torch, backend, B, H, T, d, causal, reps):
    """Median ms of SDPA with one backend forced, or None when it refuses the shape."""
    from torch.nn.attention import sdpa_kernel
    import torch.nn.functional as F
    g = torch.Generator(device="cuda").manual_seed(1000 + T + d)
    q, k, v = (torch.randn(B, H, T, d, device="cuda", dtype=torch.bfloat16, generator=g)
               for _ in range(3))
    try:
        with sdpa_kernel([backend]):
            for _ in range(3):
                F.scaled_dot_product_attention(q, k, v, is_causal=bool(causal))
            torch.cuda.synchronize()
            times = []
            for _ in range(reps):
                e0 = torch.cuda.Event(enable_timing=True)
                e1 = torch.cuda.Event(enable_timing=True)
                e0.record()
                F.scaled_dot_product_attention(q, k, v, is_causal=bool(causal))
                e1.record()
                e1.synchronize()
                times.append(e0.elapsed_time(e1))
        return statistics.median(times)
    except RuntimeError as e:   # a backend that cannot run this shape on this card
        print(f"  sdpa {backend.name} T={T} d={d}: {str(e).splitlines()[0][:100]}",
              file=sys.stderr)
        return None
    finally:
        del q, k, v
        torch.cuda.empty_cache()


def fmt(x, spec="8.1f"):
    return format(x, spec) if x is not None and not (isinstance(x, float) and math.isnan(x)) \
        else "-".rjust(int(spec.split(".")[0]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ours", help="the --json output of our GPU bench")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--json", help="write PyTorch's numbers here")
    args = ap.parse_args()

    ours = {}
    models = []
    device = "?"
    if args.ours:
        with open(args.ours) as f:
            data = json.load(f)
        device = data.get("device", "?")
        for r in data["attention"]:
            ours.setdefault((r["T"], r["d"], r["causal"]), {"B": r["B"], "H": r["H"]})[
                r["kernel"]] = r["tflops"]
        models = data.get("model", [])
        shapes = sorted(ours)
    else:
        shapes = [(T, d, 1) for d in (64, 128) for T in (512, 1024, 2048, 4096, 8192, 16384)]

    try:
        import torch
        from torch.nn.attention import SDPBackend
        if not torch.cuda.is_available():
            raise RuntimeError("torch sees no CUDA device")
        tname = f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}"
    except Exception as e:   # print our numbers anyway
        torch = None
        tname = f"PyTorch unavailable ({e})"

    rows = []
    for (T, d, causal) in shapes:
        H = 2048 // d
        B = max(1, 16384 // T)
        if (T, d, causal) in ours:
            B, H = ours[(T, d, causal)]["B"], ours[(T, d, causal)]["H"]
        fl = flops(B, H, T, d, causal)
        res = {"T": T, "d": d, "causal": causal, "B": B, "H": H}
        if torch is not None:
            for name, be in (("flash", SDPBackend.FLASH_ATTENTION),
                             ("cudnn", SDPBackend.CUDNN_ATTENTION)):
                ms = time_sdpa(torch, be, B, H, T, d, causal, args.reps)
                res[name] = fl / (ms * 1e-3) / 1e12 if ms else None
        o = ours.get((T, d, causal), {})
        res.update({k: o.get(k) for k in ("bf16", "fp16", "fp32", "naive")})
        rows.append(res)

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": tname, "rows": rows}, f, indent=1)

    print(f"our GPU: {device}")
    print(f"PyTorch: {tname}")
    print("attention forward, TFLOP/s (4 T^2 d per head, halved when causal), bf16 unless "
          "named")
    print(f"{'T':>6} {'d':>4} {'c':>2} {'ours':>8} {'flash':>8} {'cudnn':>8} {'/flash':>7} "
          f"{'/cudnn':>7} {'fp32':>7} {'naive':>7} {'fp32/nv':>8}")
    for r in rows:
        rf = r["bf16"] / r["flash"] if r.get("bf16") and r.get("flash") else None
        rc = r["bf16"] / r["cudnn"] if r.get("bf16") and r.get("cudnn") else None
        rn = r["fp32"] / r["naive"] if r.get("fp32") and r.get("naive") else None
        print(f"{r['T']:>6} {r['d']:>4} {r['causal']:>2} {fmt(r.get('bf16'))} "
              f"{fmt(r.get('flash'))} {fmt(r.get('cudnn'))} {fmt(rf, '7.2f')} "
              f"{fmt(rc, '7.2f')} {fmt(r.get('fp32'), '7.2f')} {fmt(r.get('naive'), '7.2f')} "
              f"{fmt(rn, '7.1f')}x")

    # the goals of the issue, at T = 4096
    for d in (64, 128):
        r = next((x for x in rows if x["T"] == 4096 and x["d"] == d and x["causal"] == 1), None)
        if not r:
            continue
        if r.get("bf16") and r.get("flash"):
            ok = r["bf16"] >= 0.5 * r["flash"]
            print(f"goal T=4096 d={d}: bf16 >= 50% of torch flash: "
                  f"{100 * r['bf16'] / r['flash']:.0f}% {'MET' if ok else 'NOT MET'}")
        if r.get("fp32") and r.get("naive"):
            ok = r["fp32"] >= 3 * r["naive"]
            print(f"goal T=4096 d={d}: fp32 >= 3x naive: {r['fp32'] / r['naive']:.1f}x "
                  f"{'MET' if ok else 'NOT MET'}")
    if models:
        print("whole forward + every map captured, ms host to host (goal < 1 ms at T = 64):")
        for m in models:
            print(f"  {m['name']:<12} T={m['T']:<4} graph {m['ms_graph']:.3f}  eager "
                  f"{m['ms_eager']:.3f}  cpu {m['ms_cpu']:.3f}  err {m['err']:.1e}  "
                  f"{'MET' if 0 < m['ms_graph'] < 1.0 else 'NOT MET'}")
    return 0 if torch is not None else 1


if __name__ == "__main__":
    sys.exit(main())
