#!/usr/bin/python3
"""torch_ref.py: attnviz's CPU forward pass side by side with PyTorch's, on one machine.

It loads an attnviz model folder into an equivalent PyTorch model, written out below from
the definitions in model/forward.c and model/posenc.c, and:
  1. checks that both compute the same thing: every attention map (`attnviz export --all
     --format npy`) and the next-token probabilities (`attnviz predict --json`), max abs
     difference printed;
  2. times PyTorch's forward pass with its attention weights (the eager path, as
     Hugging Face's output_attentions=True) at T = 64 and T = 1024, on one thread and on
     all, and attention through torch.matmul on the shapes of `attnviz bench` (8 heads,
     d_head 64, T = 512 / 2048 / 8192, causal and not);
  3. prints the ratio to attnviz's own numbers, from `attnviz bench --json --no-loss` in
     this run: for each model, PyTorch and attnviz are timed in turns, three times each,
     and the best of each side is compared, so that a change in the machine's load
     between the two does not decide the ratio.

Debian's PyTorch does its matrix products through Debian's OpenBLAS, which picks a slow
generic core on recent Xeons unless OPENBLAS_CORETYPE names the right one. So PyTorch
is timed twice: as installed, and with OPENBLAS_CORETYPE set (in a child process, since
OpenBLAS reads it only when it loads). attnviz is compared with the faster of the two.

Usage (Debian's python3-torch; the system python, not a pyenv one):
    /usr/bin/python3 tests/bench/torch_ref.py [--models DIR] [--bin build/attnviz] [--quick]
or `make bench-torch`. safetensors files are read with json + numpy (no extra package).
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import time

import ctypes

# OpenMP threads that spin while OpenBLAS' own threads work take their cores: on two
# cores PyTorch's "two threads" ran at half the speed of one. attnviz sets the same.
# (libgomp reads this when it loads, so before torch.)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
import torch.nn.functional as F

try:    # Debian's torch multiplies through libblas.so.3; OpenBLAS keeps its own threads
    _OPENBLAS = ctypes.CDLL("libopenblas.so.0")
except OSError:
    _OPENBLAS = None


def set_threads(n):
    """PyTorch's threads and, when OpenBLAS does its products, OpenBLAS' too (it ignores
    torch.set_num_threads and would use every core in a "one thread" timing)."""
    torch.set_num_threads(n)
    if _OPENBLAS is not None:
        _OPENBLAS.openblas_set_num_threads(n)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHIPPED = ["none", "sinusoidal", "learned", "rope", "alibi"]


# ---- loading an attnviz model folder ----------------------------------------------------

def load_safetensors(path):
    """name -> float32 tensor. The format: 8 bytes little-endian header length, a JSON
    header {name: {dtype, shape, data_offsets: [begin, end]}}, then the data."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {info['dtype']}, expected F32")
        b, e = info["data_offsets"]
        arr = np.frombuffer(data, dtype="<f4", count=(e - b) // 4, offset=8 + n + b)
        out[name] = torch.from_numpy(arr.reshape(info["shape"]).copy())
    return out


def load_model(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    cfg.setdefault("layer_norm_epsilon", 1e-5)
    cfg.setdefault("rope_theta", 10000.0)
    # a Hugging Face GPT-2 folder: no position_encoding field means learned, n_ctx may
    # stand for n_positions, names may carry "transformer.", attn.bias buffers are skipped
    cfg.setdefault("position_encoding", "learned")
    cfg.setdefault("n_positions", cfg.get("n_ctx"))
    with open(os.path.join(folder, "vocab.json")) as f:
        vocab = json.load(f)
    W = {}
    for name, t in load_safetensors(os.path.join(folder, "model.safetensors")).items():
        if name.endswith(".attn.bias") or name.endswith(".attn.masked_bias"):
            continue
        W[name[len("transformer."):] if name.startswith("transformer.") else name] = t
    return cfg, W, vocab


# ---- position encodings, exactly as model/posenc.c ---------------------------------------

def sinusoidal_table(T, C):
    """PE(p, 2i) = sin(p / 10000^(2i/C)), PE(p, 2i+1) = cos(...), in double, then float."""
    pe = np.zeros((T, C), dtype=np.float64)
    p = np.arange(T, dtype=np.float64)[:, None]
    i = np.arange(0, (C + 1) // 2, dtype=np.float64)[None, :]
    freq = np.power(10000.0, -2.0 * i / C)
    pe[:, 0::2] = np.sin(p * freq)[:, : pe[:, 0::2].shape[1]]
    pe[:, 1::2] = np.cos(p * freq)[:, : pe[:, 1::2].shape[1]]
    return torch.from_numpy(pe.astype(np.float32))


def alibi_slopes(n):
    """Press et al.: for a power of two n, the geometric sequence starting at 2^(-8/n)
    with that ratio; otherwise the closest smaller power of two p, then every other slope
    of the 2p sequence. Computed by repeated multiplication in double, as posenc.c."""
    def pow2(m):
        start, s, out = 2.0 ** (-8.0 / m), 2.0 ** (-8.0 / m), []
        for _ in range(m):
            out.append(s)
            s *= start
        return out
    p = 1
    while p * 2 <= n:
        p *= 2
    slopes = pow2(p)
    if p < n:
        slopes += pow2(min(2 * p, 128))[0::2][: n - p]
    return torch.tensor(slopes, dtype=torch.float32)


def rope_tables(T, hs, base):
    """GPT-NeoX pairing: dimension i turns with i + hs/2 by angle p * base^(-2i/hs)."""
    i = np.arange(hs // 2, dtype=np.float64)
    theta = np.power(float(base), -2.0 * i / hs)
    a = np.arange(T, dtype=np.float64)[:, None] * theta[None, :]
    return torch.from_numpy(np.cos(a).astype(np.float32)), torch.from_numpy(np.sin(a).astype(np.float32))


def rope(x, cos, sin):
    """x (NH, T, hs) rotated: x'[i] = x[i] cos - x[i+h] sin, x'[i+h] = x[i] sin + x[i+h] cos."""
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


# ---- the model -----------------------------------------------------------------------------

class TorchGPT:
    """GPT-2 shaped, pre-LayerNorm, causal, tied LM head, Conv1D [in, out] weights, GELU
    (tanh), with the five position encodings of attnviz."""

    def __init__(self, cfg, W):
        self.cfg, self.W = cfg, W
        self.L, self.NH, self.C = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
        self.hs, self.pe, self.eps = self.C // self.NH, cfg["position_encoding"], cfg["layer_norm_epsilon"]
        self.slopes = alibi_slopes(self.NH)
        self.cache = {}

    def tables(self, T):
        """Everything that depends only on T, made once (as a framework would cache it)."""
        if T not in self.cache:
            t = {"mask": torch.ones(T, T, dtype=torch.bool).tril()}
            if self.pe == "sinusoidal":
                t["pos"] = sinusoidal_table(T, self.C)
            if self.pe == "rope":
                t["cos"], t["sin"] = rope_tables(T, self.hs, self.cfg["rope_theta"])
            if self.pe == "alibi":
                d = (torch.arange(T)[:, None] - torch.arange(T)[None, :]).abs().float()
                t["bias"] = -(self.slopes[:, None, None] * d[None])
            self.cache[T] = t
        return self.cache[T]

    def forward(self, ids):
        """ids (T,) -> logits (T, V) and the attention maps, a list of L (NH, T, T)."""
        W, C, NH, hs, T = self.W, self.C, self.NH, self.hs, ids.shape[0]
        t = self.tables(T)
        x = W["wte.weight"][ids]
        if self.pe == "sinusoidal":       # as Vaswani et al.: the embedding times sqrt(C)
            x = x * float(np.sqrt(np.float32(C)))
        if self.pe == "learned":
            x = x + W["wpe.weight"][:T]
        if self.pe == "sinusoidal":
            x = x + t["pos"]
        maps = []
        for l in range(self.L):
            h = f"h.{l}."
            a = F.layer_norm(x, (C,), W[h + "ln_1.weight"], W[h + "ln_1.bias"], self.eps)
            qkv = a @ W[h + "attn.c_attn.weight"] + W[h + "attn.c_attn.bias"]
            q, k, v = (z.reshape(T, NH, hs).transpose(0, 1) for z in qkv.split(C, dim=1))
            if self.pe == "rope":
                q, k = rope(q, t["cos"], t["sin"]), rope(k, t["cos"], t["sin"])
            s = (q @ k.transpose(1, 2)) * (1.0 / math.sqrt(hs))
            if self.pe == "alibi":
                s = s + t["bias"]
            p = torch.softmax(s.masked_fill(~t["mask"], float("-inf")), dim=-1)
            maps.append(p)
            z = (p @ v).transpose(0, 1).reshape(T, C)
            x = x + z @ W[h + "attn.c_proj.weight"] + W[h + "attn.c_proj.bias"]
            m = F.layer_norm(x, (C,), W[h + "ln_2.weight"], W[h + "ln_2.bias"], self.eps)
            m = F.gelu(m @ W[h + "mlp.c_fc.weight"] + W[h + "mlp.c_fc.bias"], approximate="tanh")
            x = x + m @ W[h + "mlp.c_proj.weight"] + W[h + "mlp.c_proj.bias"]
        x = F.layer_norm(x, (C,), W["ln_f.weight"], W["ln_f.bias"], self.eps)
        return x @ W.get("lm_head.weight", W["wte.weight"]).T, maps


# ---- helpers ---------------------------------------------------------------------------------

def torch_matmul_gflops(threads):
    """PyTorch's single-precision matrix multiply speed: is a tuned BLAS behind it?"""
    set_threads(threads)
    x, y = torch.randn(1024, 1024), torch.randn(1024, 1024)
    return 2 * 1024 ** 3 / (best_ms(lambda: x @ y) * 1e-3) / 1e9


def best_ms(fn, min_reps=3, min_s=0.3):
    """The smallest time of fn over at least min_reps calls and about min_s seconds."""
    best, start, reps = 1e30, time.perf_counter(), 0
    while reps < min_reps or (time.perf_counter() - start < min_s and reps < 10000):
        t0 = time.perf_counter()
        fn()
        best = min(best, 1e3 * (time.perf_counter() - t0))
        reps += 1
    return best


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"torch_ref: {' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return r.stdout


def model_folders(path):
    if os.path.exists(os.path.join(path, "config.json")):
        return [path]
    names = [n for n in SHIPPED if os.path.exists(os.path.join(path, n, "config.json"))]
    names += sorted(n for n in os.listdir(path) if n not in SHIPPED
                    and os.path.exists(os.path.join(path, n, "config.json"))) if os.path.isdir(path) else []
    return [os.path.join(path, n) for n in names]


def cpu_coretype():
    """The OpenBLAS core name for this CPU's vector extensions (None if unsure)."""
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((l for l in f if l.startswith("flags")), "")
    except OSError:
        pass
    if " avx512f" in flags:
        return "SkylakeX"
    if " avx2" in flags:
        return "Haswell"
    return None


# ---- 1. do both compute the same thing? ------------------------------------------------------

def check_model(binary, folder, model):
    cfg, vocab = model.cfg, None
    with open(os.path.join(folder, "vocab.json")) as f:
        vocab = json.load(f)
    bpe = os.path.exists(os.path.join(folder, "merges.txt"))   # GPT-2's BPE: "Ġword" pieces
    words = [w[1:] if bpe and w.startswith("\u0120") else w for w in sorted(vocab, key=vocab.get)]
    words = [w for w in words if w.isascii() and w.isalpha()]
    rng = np.random.default_rng(1)
    n = min(40, cfg["n_positions"] - 1 if cfg["position_encoding"] == "learned" else 40)
    if bpe:
        n = min(n, (cfg["n_positions"] - 1) // 4)   # a word may be several pieces
    text = " ".join(words[i] for i in rng.integers(0, len(words), n))
    pred = json.loads(run([binary, "predict", "--model", folder, "--device", "cpu", "--text", text,
                           "--top", "10", "--json"]))
    ids = torch.tensor([t["id"] for t in pred["tokens"]])
    with tempfile.TemporaryDirectory() as tmp:
        npy = os.path.join(tmp, "maps.npy")
        run([binary, "export", "--model", folder, "--device", "cpu", "--text", text, "--all",
             "--format", "npy", "--out", npy])
        ours = np.load(npy)                                   # (L, NH, T, T)
    with torch.inference_mode():
        logits, maps = model.forward(ids)
    theirs = torch.stack(maps).numpy()
    d_maps = float(np.abs(ours - theirs).max())
    probs = torch.softmax(logits[-1], dim=-1)
    d_probs = max(abs(float(probs[t["id"]]) - t["p"]) for t in pred["next"])
    return len(ids), d_maps, d_probs


# ---- 2. PyTorch timings ------------------------------------------------------------------------

def attnviz_ms(binary, folder, T, nt):
    """attnviz's forward + capture of every map (no loss: the same work as TorchGPT.forward)
    for one model, length and thread count, ms: `attnviz bench` on just that."""
    cmd = [binary, "bench", "--json", "--only", "models", "--no-loss", "--models", folder,
           "--model-t", str(T), "--threads", str(nt)]
    rows = json.loads(run(cmd)).get("models", [])
    return min(r["forward_capture_ms"] for r in rows if r["threads"] == nt)


def torch_timings(folders, threads_all, quick, binary=None, rounds=3, attention=True):
    """{"models": {(name, T, threads): ms}, "attention": {(T, causal, threads): ms}}, and with
    binary, "attnviz": {(name, T, threads): ms} timed in turns with PyTorch: on a shared,
    busy machine the load changes from second to second, so each model is timed on both
    sides a few times in alternation (the best of each taken), not all of PyTorch first and
    all of attnviz later."""
    out = {"models": {}, "attention": {}, "attnviz": {}, "threads": threads_all}
    torch.manual_seed(0)
    with torch.inference_mode():
        for folder in folders:
            cfg, W, _ = load_model(folder)
            model = TorchGPT(cfg, W)
            name = os.path.basename(os.path.normpath(folder))
            for T in ([16, 32] if quick else LENGTHS):
                if cfg["position_encoding"] == "learned" and T > cfg["n_positions"]:
                    continue
                ids = torch.randint(2, cfg["vocab_size"], (T,))
                for nt in sorted({1, threads_all}):
                    key = f"{name}/{T}/{nt}"
                    set_threads(nt)
                    model.forward(ids)                       # warm: tables, allocator
                    for _ in range(rounds if binary else 1):
                        t = best_ms(lambda: model.forward(ids))
                        out["models"][key] = min(t, out["models"].get(key, t))
                        if binary:
                            t = attnviz_ms(binary, folder, T, nt)
                            out["attnviz"][key] = min(t, out["attnviz"].get(key, t))
        nh, hs = 8, 64
        for T in ([] if not attention else [64, 128] if quick else [512, 2048, 8192]):
            q, k, v = (torch.randn(nh, T, hs) for _ in range(3))
            mask = torch.ones(T, T, dtype=torch.bool).tril()
            for causal in (1, 0):
                def attend():
                    s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(hs))
                    if causal:
                        s = s.masked_fill(~mask, float("-inf"))
                    return torch.matmul(torch.softmax(s, dim=-1), v)
                set_threads(threads_all)
                out["attention"][f"{T}/{causal}/{threads_all}"] = best_ms(attend, 1 if T >= 8192 else 3)
    return out


# ---- 3. side by side ------------------------------------------------------------------------------

LENGTHS = [64, 1024]    # the model timings' text lengths (--lengths)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=os.path.join(ROOT, "assets", "models"),
                    help="a model folder or a folder of them (default: the shipped models)")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "attnviz"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--quick", action="store_true", help="small sizes (checks that it runs)")
    ap.add_argument("--lengths", default="64,1024",
                    help="text lengths of the model timings (default 64,1024)")
    ap.add_argument("--models-only", action="store_true",
                    help="time the model passes only (skip section 4, attention alone)")
    ap.add_argument("--targets", default="at least 3x at T = 64, at least 1x at T = 1024",
                    help="the goals printed under section 3")
    ap.add_argument("--timings-only", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    LENGTHS[:] = [int(x) for x in a.lengths.split(",")]
    folders = model_folders(a.models)
    if a.timings_only:                    # the child with OPENBLAS_CORETYPE set
        print(json.dumps(torch_timings(folders, a.threads, a.quick, a.bin, attention=not a.models_only)))
        return
    if not folders:
        sys.exit(f"torch_ref: no model folders in {a.models} (make models, or --models DIR)")
    print(f"PyTorch {torch.__version__}, {a.threads} threads; attnviz {a.bin}")
    gflops = torch_matmul_gflops(a.threads)
    print(f"PyTorch's matrix multiply: {gflops:.0f} GFLOP/s (1024 x 1024 x 1024, {a.threads} threads)")
    if gflops < 30:
        print("   WARNING: that is a reference BLAS, not a tuned one; Debian's python3-torch calls\n"
              "   whatever libblas.so.3 is installed: apt-get install libopenblas0-pthread for a fair\n"
              "   comparison (make bench-torch and bench-gpt2 install it)")

    print("\n1. same model, same numbers (max abs difference, attnviz vs PyTorch)")
    for folder in folders:
        cfg, W, _ = load_model(folder)
        T, d_maps, d_probs = check_model(a.bin, folder, TorchGPT(cfg, W))
        print(f"   {os.path.basename(os.path.normpath(folder)):12s} T={T:3d}  attention maps {d_maps:.2e}"
              f"  next-token probabilities {d_probs:.2e}")

    print("\n2. timing PyTorch (as installed, then with OPENBLAS_CORETYPE set) ...", flush=True)
    mine = torch_timings(folders, a.threads, a.quick, a.bin, attention=not a.models_only)
    fixed, core = None, os.environ.get("OPENBLAS_CORETYPE") or cpu_coretype()
    if core and not os.environ.get("OPENBLAS_CORETYPE"):
        env = dict(os.environ, OPENBLAS_CORETYPE=core)
        cmd = [sys.executable, __file__, "--models", a.models, "--threads", str(a.threads),
               "--bin", a.bin, "--lengths", a.lengths, "--timings-only"]
        cmd += ["--models-only"] if a.models_only else []
        r = subprocess.run(cmd + (["--quick"] if a.quick else []), capture_output=True, text=True, env=env)
        fixed = json.loads(r.stdout) if r.returncode == 0 else None

    # section 4's attnviz side (section 3's was timed in turns with PyTorch above)
    cmd = [a.bin, "bench", "--json", "--only", "flash", "--no-reference", "--threads", str(a.threads)]
    ours = {} if a.models_only else json.loads(run(cmd + (["--quick"] if a.quick else [])))

    print("\n3. forward pass with all attention weights, ms (attnviz: forward + capture of every map;\n"
          "   both sides timed in turns, best of each)")
    print(f"   {'model':12s} {'T':>5s} {'threads':>7s} | {'attnviz':>8s} | {'torch':>8s} {'torch*':>8s} | "
          f"{'torch / attnviz':>15s}")
    for key, t1 in mine["models"].items():
        t2 = fixed["models"].get(key) if fixed else None
        av = [x for x in (mine["attnviz"].get(key), fixed["attnviz"].get(key) if fixed else None)
              if x is not None]
        if not av:
            continue
        ms, best = min(av), min(x for x in (t1, t2) if x is not None)
        name, T, nt = key.split("/")
        print(f"   {name:12s} {int(T):5d} {int(nt):7d} | {ms:8.3f} | "
              f"{t1:8.3f} {t2 if t2 is not None else float('nan'):8.3f} | {best / ms:14.1f}x")
    print(f"   targets: {a.targets}")
    if a.models_only:
        if fixed:
            print(f"   torch* = with OPENBLAS_CORETYPE={core}; the ratio uses the faster PyTorch column")
        return

    print(f"\n4. attention alone, 8 heads, d_head 64, {a.threads} threads, ms "
          "(attnviz: fast flash; torch: matmul, softmax, matmul)")
    print(f"   {'T':>6s} {'causal':>6s} | {'attnviz':>9s} | {'torch':>9s} {'torch*':>9s} | {'torch / attnviz':>15s}")
    for r in ours.get("flash", []):
        key = f"{r['T']}/{1 if r['causal'] else 0}/{r['threads']}"
        t1 = mine["attention"].get(key)
        t2 = fixed["attention"].get(key) if fixed else None
        if t1 is None:
            continue
        best = min(x for x in (t1, t2) if x is not None)
        print(f"   {r['T']:6d} {'yes' if r['causal'] else 'no':>6s} | {r['ms']:9.2f} | {t1:9.2f} "
              f"{t2 if t2 is not None else float('nan'):9.2f} | {best / r['ms']:14.1f}x")
    if fixed:
        print(f"   torch* = with OPENBLAS_CORETYPE={core}; the ratio uses the faster PyTorch column")
    else:
        print("   (no second PyTorch run: OPENBLAS_CORETYPE already set, or CPU not recognised)")


if __name__ == "__main__":
    main()
