/* session.h: what every CLI subcommand does first: load a model folder, open the
 * compute device, tokenize the text and run one forward pass. */
#ifndef AVZ_SESSION_H
#define AVZ_SESSION_H

#include "device.h"
#include "tokenizer.h"

#define AVZ_DEFAULT_MODEL "assets/models/rope"

typedef struct {
    Engine eng;                 /* the model and the backend that runs it */
    Tokens tok;
    ForwardOpts opts;
    char model_dir[4096];
    char note[AVZ_ERR_LEN];     /* device fallback note, "" if none */
} Session;

/* Resolves model_dir (NULL: the shipped default model), loads it, opens device
 * ("auto" if NULL), parses attention ("flash" if NULL, or "naive"), tokenizes
 * text. Runs no forward pass. Returns AVZ_OK or an error with err set; on error
 * nothing needs closing. */
AvzCode session_open(Session *s, const char *model_dir, const char *device,
                     const char *attention, const char *text, char *err);

/* Replaces the session's tokens with those of text, the model staying loaded (a
 * batch loads it once). AVZ_ERR_INPUT past the model's length limit, with both
 * numbers; the session then has no tokens (tok.n = 0) until the next call. */
AvzCode session_set_text(Session *s, const char *text, char *err);

/* Forward pass of the session's tokens (targets: the text itself shifted by one). */
AvzCode session_forward(Session *s, char *err);

void session_close(Session *s);

/* Prints "note: ..." lines to stderr: unknown words, device fallbacks. */
void session_print_notes(const Session *s);

/* One line describing the model: "rope, 2 layers x 4 heads, C=64, 0.26M parameters". */
void session_describe(const Session *s, char *buf, size_t len);

#endif
