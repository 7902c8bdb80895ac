/* bench.h: what the sections of `attnviz bench` share (bench.c runs them): the
 * options, the timing helpers and where the output goes (tables, or JSON). */
#ifndef AVZ_BENCH_H
#define AVZ_BENCH_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "common.h"

typedef struct {
    int threads;          /* "all threads" */
    int quick, json, reps, max_t, hs, nh, no_ref;
    int no_loss;          /* (a) without targets: logits and maps only, as torch_ref.py times */
    const char *models, *only, *model_t;
    cJSON *doc;           /* --json: everything goes here instead of the tables */
} Bench;

/* Prints to stdout unless --json. */
#define SAY(b, ...) do { if (!(b)->json) { printf(__VA_ARGS__); fflush(stdout); } } while (0)

/* --cpu-time: time by the CPU time this process got rather than the wall clock. On a
 * machine busy with other work the wall clock also counts the time the scheduler gave
 * to others; the CPU time does not. With several threads it is their sum, so it is
 * meant for --threads 1. */
extern int bench_cpu_time;

/* Was the section asked for (--only a,b,c; no --only: every section)? */
int bench_wants(const Bench *b, const char *section);
/* Seconds, by the wall clock or (--cpu-time) the process's CPU time. */
double bench_now(void);
/* Best (smallest) time in ms of fn over at least min_reps calls and about min_s
 * seconds: the minimum is the run least disturbed by the rest of the machine. */
typedef void (*BenchFn)(void *ctx);
double bench_best_ms(BenchFn fn, void *ctx, int min_reps, double min_s);
void bench_fill_random(float *x, size_t n, AvzRng *r);
double bench_max_diff(const float *a, const float *b, size_t n);
/* The JSON array named name in b->doc (created on first use). */
cJSON *bench_json_section(Bench *b, const char *name);

/* The sections. */
void bench_models(Bench *b);                                      /* (a), (b): models.c */
double bench_ceiling(Bench *b, char *best_path, size_t len);       /* (c): kernels.c */
void bench_flash(Bench *b, double ceiling, const char *ceiling_path);
void bench_memory(Bench *b);                                       /* (d): memory.c */
void bench_table(Bench *b);                                        /* (e) */

#endif
