/* corpus.c: `attnviz corpus`, passages of the training grammar written to a file
 * (model/corpus/ generates them). */
#include "cli/cli.h"
#include "cli/commands.h"
#include "corpus.h"


int cmd_corpus(int argc, char **argv) {
    int seed = 1, tokens = 100000;
    const char *out = NULL;
    CliOpt opts[] = {{"--seed", OPT_INT, &seed, "S", "random seed (default 1)", 0},
                     {"--tokens", OPT_INT, &tokens, "N", "at least this many words (default 100000)", 0},
                     {"--out", OPT_STR, &out, "FILE", "output file, one passage per line (required)", 0}};
    CliCommand cmd = {"corpus", "--out FILE [--seed S] [--tokens N]",
                      "Writes passages of the synthetic training grammar (model/CORPUS.md).",
                      opts, sizeof opts / sizeof opts[0]};
    AvzErr err;
    int rc = cli_begin(&cmd, argc, argv);
    if (rc >= 0) return rc;
    rc = 0;
    if (!out) return cmd_error(2, "attnviz corpus: --out is required");
    if (tokens < 1) return cmd_error(2, "attnviz corpus: --tokens must be positive");
    CorpusMix mix;
    corpus_mix_default(&mix);
    if ((rc = corpus_write(out, (uint64_t)seed, tokens, &mix, err))) return cmd_error(rc, err);
    printf("wrote %s (%d+ words, seed %d)\n", out, tokens, seed);
    return 0;
}
