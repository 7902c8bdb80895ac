/* arch.c: the architecture table (see arch.h): one row per model family.
 *
 * Each row is what a reader of the family's modeling_*.py in Hugging Face transformers
 * would write down: the names of the parameters in its state dict, the config keys, and
 * the few choices that differ (norm, MLP, biases, how nn.Linear / Conv1D store a weight). */
#include "arch.h"

#include <stdio.h>
#include <string.h>

#include "common.h"

/* Llama's tensor names, shared by the families built like it. */
#define LLAMA_NAMES                                                                    \
    {                                                                                  \
        [TN_TOKEN_EMBD] = "model.embed_tokens.weight",                                 \
        [TN_ATTN_NORM] = "model.layers.%d.input_layernorm.weight",                     \
        [TN_ATTN_Q] = "model.layers.%d.self_attn.q_proj.weight",                       \
        [TN_ATTN_Q_B] = "model.layers.%d.self_attn.q_proj.bias",                       \
        [TN_ATTN_K] = "model.layers.%d.self_attn.k_proj.weight",                       \
        [TN_ATTN_K_B] = "model.layers.%d.self_attn.k_proj.bias",                       \
        [TN_ATTN_V] = "model.layers.%d.self_attn.v_proj.weight",                       \
        [TN_ATTN_V_B] = "model.layers.%d.self_attn.v_proj.bias",                       \
        [TN_ATTN_OUT] = "model.layers.%d.self_attn.o_proj.weight",                     \
        [TN_ATTN_OUT_B] = "model.layers.%d.self_attn.o_proj.bias",                     \
        [TN_FFN_NORM] = "model.layers.%d.post_attention_layernorm.weight",             \
        [TN_FFN_GATE] = "model.layers.%d.mlp.gate_proj.weight",                        \
        [TN_FFN_GATE_B] = "model.layers.%d.mlp.gate_proj.bias",                        \
        [TN_FFN_UP] = "model.layers.%d.mlp.up_proj.weight",                            \
        [TN_FFN_UP_B] = "model.layers.%d.mlp.up_proj.bias",                            \
        [TN_FFN_DOWN] = "model.layers.%d.mlp.down_proj.weight",                        \
        [TN_FFN_DOWN_B] = "model.layers.%d.mlp.down_proj.bias",                        \
        [TN_OUTPUT_NORM] = "model.norm.weight",                                        \
        [TN_OUTPUT] = "lm_head.weight",                                                \
    }

#define LLAMA_KEYS                                                                     \
    {"num_hidden_layers", "num_attention_heads", "num_key_value_heads", "hidden_size", \
     "intermediate_size", "max_position_embeddings", NULL, "rms_norm_eps", "head_dim", \
     "hidden_act"}

#define NO_ROPE_SCALING                                                                \
    {"rope_scaling", MUST_NULL, "RoPE scaling (linear, dynamic, yarn, llama3) is not implemented"}

static const ArchInfo ARCHS[ARCH_COUNT] = {
    [ARCH_GPT2] = {
        .id = ARCH_GPT2, .model_type = "gpt2", .hf_class = "GPT2LMHeadModel",
        .prefix = "transformer.", .conv1d = 1, .norm = NORM_LAYER, .mlp = MLP_GELU,
        .pe = PE_LEARNED, .bias = BIAS_ALL, .tied_default = 1, .eps_default = 1e-5f,
        .inner_required = 0,
        .acts = {"gelu_new", "gelu_pytorch_tanh", "gelu_fast"},
        .skip = {".attn.bias", ".attn.masked_bias"},
        .limits = {
            {"scale_attn_weights", MUST_TRUE, "attention without the 1/sqrt(d) scale"},
            {"scale_attn_by_inverse_layer_idx", MUST_FALSE, "scores scaled by 1/layer"},
            {"add_cross_attention", MUST_FALSE, "cross-attention (an encoder-decoder)"},
        },
        .keys = {"n_layer", "n_head", NULL, "n_embd", "n_inner", "n_positions", "n_ctx",
                 "layer_norm_epsilon", NULL, "activation_function"},
        .names = {
            [TN_TOKEN_EMBD] = "wte.weight",
            [TN_POS_EMBD] = "wpe.weight",
            [TN_ATTN_NORM] = "h.%d.ln_1.weight",
            [TN_ATTN_NORM_B] = "h.%d.ln_1.bias",
            [TN_ATTN_QKV] = "h.%d.attn.c_attn.weight",
            [TN_ATTN_QKV_B] = "h.%d.attn.c_attn.bias",
            [TN_ATTN_OUT] = "h.%d.attn.c_proj.weight",
            [TN_ATTN_OUT_B] = "h.%d.attn.c_proj.bias",
            [TN_FFN_NORM] = "h.%d.ln_2.weight",
            [TN_FFN_NORM_B] = "h.%d.ln_2.bias",
            [TN_FFN_UP] = "h.%d.mlp.c_fc.weight",
            [TN_FFN_UP_B] = "h.%d.mlp.c_fc.bias",
            [TN_FFN_DOWN] = "h.%d.mlp.c_proj.weight",
            [TN_FFN_DOWN_B] = "h.%d.mlp.c_proj.bias",
            [TN_OUTPUT_NORM] = "ln_f.weight",
            [TN_OUTPUT_NORM_B] = "ln_f.bias",
            [TN_OUTPUT] = "lm_head.weight",
        },
    },
    [ARCH_LLAMA] = {   /* also SmolLM / SmolLM2, TinyLlama, Llama 2 and 3 (without rope_scaling) */
        .id = ARCH_LLAMA, .model_type = "llama", .hf_class = "LlamaForCausalLM",
        .conv1d = 0, .norm = NORM_RMS, .mlp = MLP_SWIGLU, .pe = PE_ROPE, .bias = 0,
        .bias_keys = {{"attention_bias", BIAS_QKV | BIAS_O}, {"mlp_bias", BIAS_MLP}},
        .tied_default = 0, .eps_default = 1e-6f, .inner_required = 1,
        .acts = {"silu"},
        .skip = {".rotary_emb.inv_freq"},
        .limits = {NO_ROPE_SCALING},
        .keys = LLAMA_KEYS,
        .names = LLAMA_NAMES,
    },
    [ARCH_QWEN2] = {   /* q, k and v have biases, always (no attention_bias key) */
        .id = ARCH_QWEN2, .model_type = "qwen2", .hf_class = "Qwen2ForCausalLM",
        .conv1d = 0, .norm = NORM_RMS, .mlp = MLP_SWIGLU, .pe = PE_ROPE, .bias = BIAS_QKV,
        .tied_default = 0, .eps_default = 1e-6f, .inner_required = 1,
        .acts = {"silu"},
        .skip = {".rotary_emb.inv_freq"},
        .limits = {NO_ROPE_SCALING,
                   {"use_sliding_window", MUST_FALSE, "sliding-window attention"}},
        .keys = LLAMA_KEYS,
        .names = LLAMA_NAMES,
    },
    [ARCH_MISTRAL] = {
        .id = ARCH_MISTRAL, .model_type = "mistral", .hf_class = "MistralForCausalLM",
        .conv1d = 0, .norm = NORM_RMS, .mlp = MLP_SWIGLU, .pe = PE_ROPE, .bias = 0,
        .tied_default = 0, .eps_default = 1e-6f, .inner_required = 1,
        .acts = {"silu"},
        .skip = {".rotary_emb.inv_freq"},
        .limits = {NO_ROPE_SCALING,
                   {"sliding_window", MUST_NULL_OR_WIDE, "sliding-window attention"}},
        .keys = LLAMA_KEYS,
        .names = LLAMA_NAMES,
    },
};

const ArchInfo *arch_info(ArchId id) {
    AVZ_ASSERT((int)id >= 0 && id < ARCH_COUNT);
    return &ARCHS[id];
}

const ArchInfo *arch_by_model_type(const char *name) {
    for (int i = 0; name && i < ARCH_COUNT; i++)
        if (strcmp(ARCHS[i].model_type, name) == 0) return &ARCHS[i];
    return NULL;
}

const char *arch_model_types(void) { return "gpt2, llama, qwen2, mistral"; }

int arch_tensor_name(const ArchInfo *a, TensorRole role, int layer, const char *prefix, char *buf,
                     size_t n) {
    AVZ_ASSERT((int)role >= 0 && role < TN_COUNT && n > 0);
    buf[0] = '\0';
    const char *fmt = a->names[role];
    if (!fmt) return 0;
    char name[128];
    snprintf(name, sizeof name, fmt, layer);   /* a format without %d ignores layer */
    snprintf(buf, n, "%s%s", prefix && role != TN_OUTPUT ? prefix : "", name);
    return 1;
}

int arch_is_skipped(const ArchInfo *a, const char *name) {
    size_t len = strlen(name);
    for (int i = 0; i < ARCH_MAX_SKIP && a->skip[i]; i++) {
        size_t s = strlen(a->skip[i]);
        if (len >= s && strcmp(name + len - s, a->skip[i]) == 0) return 1;
    }
    return 0;
}

const char *arch_norm_name(NormKind k) { return k == NORM_RMS ? "RMSNorm" : "LayerNorm"; }

const char *arch_mlp_name(MlpKind k) { return k == MLP_SWIGLU ? "SwiGLU" : "GELU (tanh)"; }
