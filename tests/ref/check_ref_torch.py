#!/usr/bin/python3
"""Self-check of tests/ref/hf_fixture.py against an independent torch float64 forward.

Not part of the test suite (CI has no torch).  Run by hand where torch is installed:

    /usr/bin/python3 tests/ref/check_ref_torch.py [--keep DIR]

For every folder below it (1) makes the folder with the CLI, (2) checks the files against
the Hub layouts (safetensors header, names, shapes, dtypes, index.json, config fields),
(3) runs `hf_fixture.py forward` through the CLI into a .bin and reads it back, and (4)
compares it with the torch forward written here from transformers' conventions, which
reads the safetensors with its own parser (torch.frombuffer, torch's own bf16/f16).
"""

import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "hf_fixture.py")
sys.path.insert(0, HERE)
import hf_fixture  # noqa: E402  (only read_reference, to parse the .bin output)

torch.set_default_dtype(torch.float64)
TOL = 1e-9

# ------------------------------------------------------------------------ loading (torch)

TDT = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64,
       "U8": torch.uint8, "BOOL": torch.bool}
ISZ = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "U8": 1, "BOOL": 1}


def st_read(path):
    """-> (header dict, {name: raw torch tensor in its stored dtype}); checks the layout."""
    blob = open(path, "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    assert n % 8 == 0, "%s: header length %d not a multiple of 8" % (path, n)
    raw = blob[8:8 + n]
    assert raw.rstrip(b" ") == raw.rstrip(), path
    hdr = json.loads(raw)
    assert list(hdr)[0] == "__metadata__" and hdr["__metadata__"] == {"format": "pt"}, path
    data = blob[8 + n:]
    spans, out = [], {}
    for name, info in hdr.items():
        if name == "__metadata__":
            continue
        assert set(info) == {"dtype", "shape", "data_offsets"}, (path, name, info)
        b, e = info["data_offsets"]
        numel = math.prod(info["shape"])
        assert e - b == numel * ISZ[info["dtype"]], (path, name)
        spans.append((b, e))
        t = torch.frombuffer(bytearray(data[b:e]), dtype=TDT[info["dtype"]]) if e > b else \
            torch.empty(0, dtype=TDT[info["dtype"]])
        out[name] = t.reshape(info["shape"])
    spans.sort()
    assert spans[0][0] == 0 and spans[-1][1] == len(data), path
    assert all(spans[i][1] == spans[i + 1][0] for i in range(len(spans) - 1)), path
    return hdr, out


def load_dir(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    idx_path = os.path.join(d, "model.safetensors.index.json")
    raw, dtypes = {}, {}
    if os.path.exists(idx_path):
        idx = json.load(open(idx_path))
        assert set(idx) == {"metadata", "weight_map"} and set(idx["metadata"]) == {"total_size"}
        assert list(idx["weight_map"]) == sorted(idx["weight_map"]), "weight_map not sorted"
        total = 0
        for fn in sorted(set(idx["weight_map"].values())):
            hdr, ts = st_read(os.path.join(d, fn))
            for k, v in ts.items():
                assert idx["weight_map"][k] == fn
                total += v.numel() * v.element_size()
                dtypes[k] = hdr[k]["dtype"]
            raw.update(ts)
        assert set(raw) == set(idx["weight_map"])
        assert total == idx["metadata"]["total_size"], (total, idx["metadata"])
        assert not os.path.exists(os.path.join(d, "model.safetensors"))
    else:
        hdr, raw = st_read(os.path.join(d, "model.safetensors"))
        dtypes = {k: v["dtype"] for k, v in hdr.items() if k != "__metadata__"}
    return cfg, raw, dtypes


# ------------------------------------------------------------------------ torch forwards

def torch_gpt2(cfg, w, ids):
    """GPT2LMHeadModel, eval, float64, written after transformers' modeling_gpt2.py."""
    pre = "transformer." if "transformer.wte.weight" in w else ""
    W = lambda n: w[pre + n]
    C, NH, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    eps = cfg["layer_norm_epsilon"]
    T = len(ids)
    idt = torch.tensor(ids)
    x = F.embedding(idt, W("wte.weight")) + F.embedding(torch.arange(T), W("wpe.weight"))
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    maps = []
    for i in range(L):
        p = "h.%d." % i
        res = x
        a = F.layer_norm(x, (C,), W(p + "ln_1.weight"), W(p + "ln_1.bias"), eps)
        qkv = torch.addmm(W(p + "attn.c_attn.bias"), a, W(p + "attn.c_attn.weight"))   # Conv1D
        q, k, v = qkv.split(C, dim=1)
        sh = lambda t: t.view(T, NH, C // NH).permute(1, 0, 2)
        q, k, v = sh(q), sh(k), sh(v)
        att = torch.matmul(q, k.transpose(-1, -2)) / torch.full([], v.size(-1) ** 0.5)
        att = torch.where(causal, att, torch.tensor(torch.finfo(att.dtype).min))
        att = torch.softmax(att, dim=-1)
        maps.append(att)
        z = torch.matmul(att, v).permute(1, 0, 2).contiguous().view(T, C)
        x = res + torch.addmm(W(p + "attn.c_proj.bias"), z, W(p + "attn.c_proj.weight"))
        m = F.layer_norm(x, (C,), W(p + "ln_2.weight"), W(p + "ln_2.bias"), eps)
        hh = F.gelu(torch.addmm(W(p + "mlp.c_fc.bias"), m, W(p + "mlp.c_fc.weight")), approximate="tanh")
        x = x + torch.addmm(W(p + "mlp.c_proj.bias"), hh, W(p + "mlp.c_proj.weight"))
    x = F.layer_norm(x, (C,), W("ln_f.weight"), W("ln_f.bias"), eps)
    head = w["lm_head.weight"] if "lm_head.weight" in w else W("wte.weight")
    return F.linear(x, head), torch.stack(maps)


def rope_complex(x, theta):
    """RoPE on the (i, i + hd/2) pairs written with complex numbers (not rotate_half):
    z_i = x_i + j x_{i+hd/2} times exp(j pos theta^(-2i/hd))."""
    H, T, hd = x.shape
    half = hd // 2
    z = torch.view_as_complex(torch.stack([x[..., :half], x[..., half:]], dim=-1).contiguous())
    freq = 1.0 / theta ** (torch.arange(half, dtype=torch.float64) * 2 / hd)
    ang = torch.outer(torch.arange(T, dtype=torch.float64), freq)
    z = z * torch.polar(torch.ones_like(ang), ang)[None]
    r = torch.view_as_real(z)
    return torch.cat([r[..., 0], r[..., 1]], dim=-1)


def torch_llama(cfg, w, ids):
    """LlamaForCausalLM / Qwen2ForCausalLM, eval, float64."""
    C, NH, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    NKV = cfg.get("num_key_value_heads", NH)
    hd = cfg.get("head_dim") or C // NH
    eps, theta = cfg["rms_norm_eps"], cfg["rope_theta"]
    T = len(ids)

    def rms(x, g):
        return g * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    def lin(x, n):
        return F.linear(x, w[n + ".weight"], w.get(n + ".bias"))

    x = F.embedding(torch.tensor(ids), w["model.embed_tokens.weight"])
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    maps = []
    for i in range(L):
        p = "model.layers.%d." % i
        h = rms(x, w[p + "input_layernorm.weight"])
        q = lin(h, p + "self_attn.q_proj").view(T, NH, hd).transpose(0, 1)
        k = lin(h, p + "self_attn.k_proj").view(T, NKV, hd).transpose(0, 1)
        v = lin(h, p + "self_attn.v_proj").view(T, NKV, hd).transpose(0, 1)
        q, k = rope_complex(q, theta), rope_complex(k, theta)
        rep = NH // NKV   # repeat_kv: kv head j serves query heads j*rep .. j*rep+rep-1
        k = k[:, None].expand(NKV, rep, T, hd).reshape(NH, T, hd)
        v = v[:, None].expand(NKV, rep, T, hd).reshape(NH, T, hd)
        s = torch.bmm(q, k.transpose(1, 2)) * hd ** -0.5
        att = torch.softmax(s.masked_fill(mask, float("-inf")), dim=-1)
        maps.append(att)
        z = torch.bmm(att, v).transpose(0, 1).reshape(T, NH * hd)
        x = x + lin(z, p + "self_attn.o_proj")
        h = rms(x, w[p + "post_attention_layernorm.weight"])
        x = x + lin(F.silu(lin(h, p + "mlp.gate_proj")) * lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
    x = rms(x, w["model.norm.weight"])
    head = w["lm_head.weight"] if "lm_head.weight" in w else w["model.embed_tokens.weight"]
    return F.linear(x, head), torch.stack(maps)


# ------------------------------------------------------------------------ expected layouts

def expected_gpt2(cfg, prefix, buffers, untied):
    C, L, V, P = cfg["n_embd"], cfg["n_layer"], cfg["vocab_size"], cfg["n_positions"]
    Fi = cfg["n_inner"] or 4 * C
    pre = "transformer." if prefix else ""
    e = {pre + "wte.weight": [V, C], pre + "wpe.weight": [P, C],
         pre + "ln_f.weight": [C], pre + "ln_f.bias": [C]}
    for i in range(L):
        p = pre + "h.%d." % i
        e.update({p + "ln_1.weight": [C], p + "ln_1.bias": [C],
                  p + "attn.c_attn.weight": [C, 3 * C], p + "attn.c_attn.bias": [3 * C],
                  p + "attn.c_proj.weight": [C, C], p + "attn.c_proj.bias": [C],
                  p + "ln_2.weight": [C], p + "ln_2.bias": [C],
                  p + "mlp.c_fc.weight": [C, Fi], p + "mlp.c_fc.bias": [Fi],
                  p + "mlp.c_proj.weight": [Fi, C], p + "mlp.c_proj.bias": [C]})
        if buffers:
            e[p + "attn.bias"] = [1, 1, P, P]
            e[p + "attn.masked_bias"] = []
    if untied:
        e["lm_head.weight"] = [V, C]
    return e


def expected_llama(cfg):
    C, L, V = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["vocab_size"]
    NH, NKV, Fi = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["intermediate_size"]
    hd = cfg.get("head_dim") or C // NH
    qwen = cfg["model_type"] == "qwen2"
    ab = cfg.get("attention_bias", False)
    e = {"model.embed_tokens.weight": [V, C], "model.norm.weight": [C]}
    for i in range(L):
        p = "model.layers.%d." % i
        e.update({p + "input_layernorm.weight": [C], p + "post_attention_layernorm.weight": [C],
                  p + "self_attn.q_proj.weight": [NH * hd, C], p + "self_attn.k_proj.weight": [NKV * hd, C],
                  p + "self_attn.v_proj.weight": [NKV * hd, C], p + "self_attn.o_proj.weight": [C, NH * hd],
                  p + "mlp.gate_proj.weight": [Fi, C], p + "mlp.up_proj.weight": [Fi, C],
                  p + "mlp.down_proj.weight": [C, Fi]})
        if qwen or ab:
            e.update({p + "self_attn.q_proj.bias": [NH * hd], p + "self_attn.k_proj.bias": [NKV * hd],
                      p + "self_attn.v_proj.bias": [NKV * hd]})
        if ab and not qwen:
            e[p + "self_attn.o_proj.bias"] = [C]
        if cfg.get("mlp_bias"):
            e.update({p + "mlp.gate_proj.bias": [Fi], p + "mlp.up_proj.bias": [Fi], p + "mlp.down_proj.bias": [C]})
    if not cfg["tie_word_embeddings"]:
        e["lm_head.weight"] = [V, C]
    return e


GPT2_KEYS = {"activation_function", "architectures", "attn_pdrop", "bos_token_id", "embd_pdrop",
             "eos_token_id", "initializer_range", "layer_norm_epsilon", "model_type", "n_ctx",
             "n_embd", "n_head", "n_inner", "n_layer", "n_positions", "resid_pdrop",
             "summary_activation", "summary_first_dropout", "summary_proj_to_labels",
             "summary_type", "summary_use_proj", "task_specific_params", "vocab_size"}
LLAMA_KEYS = {"architectures", "attention_bias", "attention_dropout", "bos_token_id", "eos_token_id",
              "hidden_act", "hidden_size", "initializer_range", "intermediate_size",
              "max_position_embeddings", "mlp_bias", "model_type", "num_attention_heads",
              "num_hidden_layers", "num_key_value_heads", "pretraining_tp", "rms_norm_eps",
              "rope_scaling", "rope_theta", "tie_word_embeddings", "torch_dtype", "vocab_size"}
QWEN2_KEYS = {"architectures", "attention_dropout", "bos_token_id", "eos_token_id", "hidden_act",
              "hidden_size", "intermediate_size", "max_position_embeddings", "max_window_layers",
              "model_type", "num_attention_heads", "num_hidden_layers", "num_key_value_heads",
              "rms_norm_eps", "rope_theta", "sliding_window", "tie_word_embeddings", "torch_dtype",
              "use_sliding_window", "vocab_size"}


# ------------------------------------------------------------------------ the cases

CASES = [
    # name, make args, ids kind
    ("gpt2", ["--arch", "gpt2"]),
    ("gpt2-untied", ["--arch", "gpt2", "--untied"]),
    ("gpt2-prefix-buffers", ["--arch", "gpt2", "--prefix", "--attn-bias-buffers"]),
    ("gpt2-prefix-untied-u8buf", ["--arch", "gpt2", "--prefix", "--untied", "--attn-bias-buffers",
                                  "--buffer-dtype", "u8"]),
    ("gpt2-f16-boolbuf", ["--arch", "gpt2", "--dtype", "f16", "--attn-bias-buffers", "--buffer-dtype", "bool"]),
    ("gpt2-bf16", ["--arch", "gpt2", "--dtype", "bf16"]),
    ("gpt2-sharded", ["--arch", "gpt2", "--shards", "3", "--untied"]),
    ("gpt2-3layer-inner", ["--arch", "gpt2", "--layers", "3", "--heads", "2", "--embd", "24",
                           "--intermediate", "40", "--ln-eps", "1e-3"]),
    ("gpt2-tok", ["--arch", "gpt2", "--tokenizer", "gpt2", "--embd", "16", "--heads", "2"]),
    ("llama-mha", ["--arch", "llama"]),
    ("llama-gqa", ["--arch", "llama", "--kv-heads", "2"]),
    ("llama-mqa-tied", ["--arch", "llama", "--kv-heads", "1", "--tied"]),
    ("llama-headdim", ["--arch", "llama", "--heads", "4", "--kv-heads", "2", "--head-dim", "12"]),
    ("llama-bias", ["--arch", "llama", "--attention-bias", "--kv-heads", "2", "--rope-theta", "500"]),
    ("llama-mlpbias-rotbuf", ["--arch", "llama", "--mlp-bias", "--rotary-buffers", "--rms-eps", "1e-2"]),
    ("llama-bf16-sharded", ["--arch", "llama", "--dtype", "bf16", "--kv-heads", "2", "--shards", "4"]),
    ("llama-f16-tied", ["--arch", "llama", "--dtype", "f16", "--tied", "--kv-heads", "2"]),
    ("qwen2", ["--qwen2", "--kv-heads", "2"]),
    ("qwen2-untied-headdim", ["--qwen2", "--untied", "--heads", "6", "--kv-heads", "3",
                              "--embd", "24", "--head-dim", "8"]),
    ("llama2-tok", ["--arch", "llama", "--tokenizer", "llama2", "--embd", "16", "--heads", "2", "--kv-heads", "1"]),
    ("llama3-tok", ["--arch", "llama", "--tokenizer", "llama3", "--embd", "16", "--heads", "2",
                    "--rope-theta", "500000", "--dtype", "bf16", "--tied"]),
]
for v in sorted(hf_fixture.VARIANTS):
    CASES.append(("variant-" + v, ["--variant", v]))


def run(args):
    t0 = time.time()
    r = subprocess.run(["/usr/bin/python3", FIX] + args, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit("FAILED: hf_fixture.py %s\n%s" % (" ".join(args), r.stderr))
    return time.time() - t0


def check_files(d, args, cfg, raw, dtypes):
    mt = cfg["model_type"]
    want_dt = {"f32": "F32", "f16": "F16", "bf16": "BF16"}[args[args.index("--dtype") + 1]] \
        if "--dtype" in args else None
    if mt == "gpt2":
        assert GPT2_KEYS <= set(cfg), GPT2_KEYS - set(cfg)
        assert cfg["architectures"] == ["GPT2LMHeadModel"] and cfg["activation_function"] == "gelu_new"
        untied = cfg.get("tie_word_embeddings", True) is False
        exp = expected_gpt2(cfg, "transformer.wte.weight" in raw, any(k.endswith("masked_bias") for k in raw),
                            untied)
        if "--prefix" in args:
            assert "transformer.wte.weight" in raw
        if "--attn-bias-buffers" in args:
            n = "transformer.h.0.attn.bias" if "--prefix" in args else "h.0.attn.bias"
            b = raw[n].to(torch.float64)[0, 0]
            assert torch.equal(b, torch.tril(torch.ones_like(b))), "attn.bias not a causal mask"
    else:
        keys = QWEN2_KEYS if mt == "qwen2" else LLAMA_KEYS
        assert keys <= set(cfg), keys - set(cfg)
        assert cfg["architectures"] == (["Qwen2ForCausalLM"] if mt == "qwen2" else ["LlamaForCausalLM"])
        assert ("head_dim" in cfg) == ("--head-dim" in args or cfg.get("head_dim") is not None)
        exp = expected_llama(cfg)
        if "--rotary-buffers" in args:
            for i in range(cfg["num_hidden_layers"]):
                exp["model.layers.%d.self_attn.rotary_emb.inv_freq" % i] = \
                    [(cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]) // 2]
    got = {k: list(v.shape) for k, v in raw.items()}
    assert got == exp, ("layout", sorted(set(got) ^ set(exp)),
                        [(k, got[k], exp[k]) for k in got if k in exp and got[k] != exp[k]])
    if want_dt:
        assert cfg["torch_dtype"] == {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[want_dt]
        for k, dt in dtypes.items():
            if not (k.endswith(".attn.bias") or k.endswith("masked_bias") or k.endswith("inv_freq")):
                assert dt == want_dt, (k, dt)
    tok = args[args.index("--tokenizer") + 1] if "--tokenizer" in args else None
    if tok:
        files = {"gpt2": ["vocab.json", "merges.txt"], "llama2": ["tokenizer.json", "tokenizer_config.json"],
                 "llama3": ["tokenizer.json", "tokenizer_config.json"]}[tok]
        for fn in files:
            assert os.path.exists(os.path.join(d, fn)), fn
        if tok == "gpt2":
            nv = len(json.load(open(os.path.join(d, "vocab.json"))))
        else:
            tj = json.load(open(os.path.join(d, "tokenizer.json")))
            nv = max(max(tj["model"]["vocab"].values()), max(a["id"] for a in tj["added_tokens"])) + 1
        assert nv == cfg["vocab_size"], (nv, cfg["vocab_size"])


def check_rounding(tmp):
    """F16/BF16 tensors are exactly torch's conversions of the F32 folder's tensors."""
    worst = 0
    for arch in ("gpt2", "llama"):
        base = os.path.join(tmp, "round-%s-f32" % arch)
        run(["make", base, "--arch", arch, "--seed", "7"])
        _, r32, _ = load_dir(base)
        for dt, tdt in (("f16", torch.float16), ("bf16", torch.bfloat16)):
            d = os.path.join(tmp, "round-%s-%s" % (arch, dt))
            run(["make", d, "--arch", arch, "--seed", "7", "--dtype", dt])
            _, r, _ = load_dir(d)
            for k in r32:
                assert r[k].dtype == tdt, (k, r[k].dtype)
                want = r32[k].to(tdt)
                assert torch.equal(r[k].view(torch.int16), want.view(torch.int16)), (arch, dt, k)
                worst = max(worst, (r[k].double() - r32[k].double()).abs().max().item())
    # round-to-nearest-even on the tie cases, bit for bit against torch
    x = torch.tensor([1.0 + 2 ** -8, 1.0 + 3 * 2 ** -8, -(1.0 + 2 ** -8), 3.0e38, 1e-40, 0.0, -0.0,
                      float("inf"), float("-inf")], dtype=torch.float32)
    mine = torch.from_numpy(hf_fixture.f32_to_bf16_bits(x.numpy()).view(np.int16).copy())
    assert torch.equal(mine, x.to(torch.bfloat16).view(torch.int16)), (mine, x.to(torch.bfloat16).view(torch.int16))
    print("rounding: F16 and BF16 tensors equal torch's .half()/.bfloat16() of the F32 weights bit for bit "
          "(largest change from rounding %.3g)" % worst)


def main():
    keep = sys.argv[sys.argv.index("--keep") + 1] if "--keep" in sys.argv else None
    tmp = keep or tempfile.mkdtemp(prefix="avz-ref-")
    os.makedirs(tmp, exist_ok=True)
    check_rounding(tmp)
    worst = {"attn": 0.0, "logits": 0.0, "probs": 0.0}
    slow = (0.0, 0.0)
    for name, args in CASES:
        d = os.path.join(tmp, name)
        tm = run(["make", d] + args)
        cfg, raw, dtypes = load_dir(d)
        check_files(d, args, cfg, raw, dtypes)
        w = {k: v.to(torch.float64) for k, v in raw.items()}
        V = cfg["vocab_size"]
        ctx = cfg.get("n_positions") or cfg.get("max_position_embeddings")
        T = min(64, ctx)
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        ids = rng.integers(0, V, T).tolist()
        out = os.path.join(tmp, name + ".bin")
        tf = run(["forward", d, "--ids", ",".join(map(str, ids)), "--out", out])
        slow = (max(slow[0], tm), max(slow[1], tf))
        r = hf_fixture.read_reference(out)
        assert r["ids"].tolist() == ids
        with torch.no_grad():
            logits, maps = (torch_gpt2 if cfg["model_type"] == "gpt2" else torch_llama)(cfg, w, ids)
        probs = torch.softmax(logits, -1)
        e_att = np.abs(r["maps"] - maps.numpy()).max()
        e_log = np.abs(r["logits"] - logits.numpy()).max()
        e_pr = np.abs(r["probs"] - probs.numpy()).max()
        assert (r["top1"] == logits.argmax(-1).numpy()).all(), name
        assert np.abs(r["top1_prob"] - probs.max(-1).values.numpy()).max() < TOL
        assert np.all(np.triu(r["maps"], 1) == 0), "mass above the diagonal"
        assert np.abs(r["maps"].sum(-1) - 1).max() < 1e-12
        i = r["info"]
        assert (i["L"], i["NH"], i["V"]) == tuple(maps.shape[:2]) + (V,)
        # how peaky the maps are (rows with >= 4 keys)
        rows = r["maps"][..., 4:, :]
        peak = rows.max(-1).mean()
        worst = {"attn": max(worst["attn"], e_att), "logits": max(worst["logits"], e_log),
                 "probs": max(worst["probs"], e_pr)}
        ok = e_att < TOL and e_log < TOL and e_pr < TOL
        print("%-26s %s  T=%2d V=%6d  max|d| attn %.1e logits %.1e probs %.1e  "
              "mean row max %.2f  top1 p %.3f  |logit| max %.1f  make %.2fs fwd %.2fs"
              % (name, "ok  " if ok else "FAIL", T, V, e_att, e_log, e_pr, peak,
                 r["top1_prob"].mean(), np.abs(r["logits"]).max(), tm, tf))
        if not ok:
            raise SystemExit("FAILED: %s" % name)
    # JSON output agrees with the .bin
    d = os.path.join(tmp, "llama-gqa")
    run(["forward", d, "--ids", "3,1,4,1,5,9,2,6", "--out", os.path.join(tmp, "j.json")])
    run(["forward", d, "--ids", "3,1,4,1,5,9,2,6", "--out", os.path.join(tmp, "j.bin")])
    j = json.load(open(os.path.join(tmp, "j.json")))
    b = hf_fixture.read_reference(os.path.join(tmp, "j.bin"))
    assert np.array_equal(np.array(j["attn"]), b["maps"]) and np.array_equal(np.array(j["logits"]), b["logits"])
    assert j["top1_id"] == b["top1"].tolist()
    # determinism
    a1, a2 = os.path.join(tmp, "det1"), os.path.join(tmp, "det2")
    run(["make", a1, "--variant", "llama-gqa", "--seed", "5"])
    run(["make", a2, "--variant", "llama-gqa", "--seed", "5"])
    assert open(os.path.join(a1, "model.safetensors"), "rb").read() == \
        open(os.path.join(a2, "model.safetensors"), "rb").read()
    run(["make", a2, "--variant", "llama-gqa", "--seed", "6"])
    assert open(os.path.join(a1, "model.safetensors"), "rb").read() != \
        open(os.path.join(a2, "model.safetensors"), "rb").read()
    print("json == bin, same seed -> same bytes, other seed -> other bytes")
    print("ALL OK: %d folders; worst max|d| attn %.2e logits %.2e probs %.2e (limit %g); "
          "slowest make %.2fs, forward %.2fs" % (len(CASES), worst["attn"], worst["logits"],
                                                 worst["probs"], TOL, slow[0], slow[1]))


if __name__ == "__main__":
    main()
