/* device.h: opening a model on a device, the one place where a backend is chosen.
 *
 * The CLI's sessions (session.h), the app's engines and its worker threads all open
 * models through engine_open, so that "--device auto|cpu|cuda" means the same
 * everywhere and every fall back to the CPU is reported the same way. */
#ifndef AVZ_DEVICE_H
#define AVZ_DEVICE_H

#include "backend.h"
#include "model.h"

/* Opens "auto", "cpu" or "cuda". With "auto" or "cuda" and no usable GPU (not built,
 * no driver, no device, init failure) it returns the CPU backend and writes the
 * reason into note (note[0] = 0 when nothing to say). Returns NULL only for an
 * unknown name (AVZ_ERR_INPUT in err). The caller closes it with backend_close. */
Backend *device_open(const char *name, char *note, char *err);

/* A model loaded from a folder, its tokenizer and the backend that runs it. */
typedef struct {
    Model model;
    Tokenizer tok;              /* word models: over model.vocab; else the folder's BPE */
    Backend *be;
    int loaded;
} Engine;

/* Loads dir with its tokenizer (tokenizer.h: our vocab.json, GPT-2's vocab.json +
 * merges.txt, or tokenizer.json) and opens device (NULL: "auto") for it; note as
 * device_open's (may be NULL). On failure e holds nothing to close. */
AvzCode engine_open(Engine *e, const char *dir, const char *device, char *note, char *err);
/* Frees the model and its tokenizer and closes its backend; a closed or zeroed
 * engine is fine. */
void engine_close(Engine *e);

/* The engine's tokenizer on text (tokenizer_encode). */
AvzCode engine_encode(const Engine *e, const char *text, int max_tokens, Tokens *out, char *err);
/* The text to show for token id ("curie", " world", "<0xE2>"). */
void engine_label(const Engine *e, int id, char *buf, size_t n);

#endif
