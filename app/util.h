/* util.h: the few one-line helpers every part of app/ uses, written once here
 * (min / max / clamp, and byte counts in words). Nothing else belongs here. */
#ifndef AVZ_UTIL_H
#define AVZ_UTIL_H

#include <stdio.h>

static inline float minf(float a, float b) { return a < b ? a : b; }
static inline float maxf(float a, float b) { return a > b ? a : b; }
static inline int mini(int a, int b) { return a < b ? a : b; }
static inline int maxi(int a, int b) { return a > b ? a : b; }
static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* A byte count in words into s (size n): "512 B", "161.5 KiB", "1.0 GiB". */
static inline void fmt_bytes(char *s, size_t n, double b) {
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int k = 0;
    while (b >= 1024 && k < 4) b /= 1024, k++;
    snprintf(s, n, k ? "%.1f %s" : "%.0f %s", b, u[k]);
}

#endif
