/* ticks.h: where the numbered ticks of an axis or a colour bar go, for the PNG figures
 * (figure/) and the app's figures (gui/figures.c) alike. Pure arithmetic. */
#ifndef AVZ_TICKS_H
#define AVZ_TICKS_H

#include <math.h>

/* A step of 1, 2 or 5 x 10^k giving at most max_ticks intervals over range (charts). */
static inline double ticks_step(double range, int max_ticks) {
    double raw = range / (max_ticks > 1 ? max_ticks : 1), p = pow(10.0, floor(log10(raw)));
    double m = raw / p;
    return p * (m <= 1.0 + 1e-9 ? 1.0 : m <= 2.0 + 1e-9 ? 2.0 : m <= 5.0 + 1e-9 ? 5.0 : 10.0);
}

/* A step of 1, 2, 2.5 or 5 x 10^k giving about 4 steps over range (colour bars). */
static inline double ticks_bar_step(double range) {
    double raw = range / 4.0, p = pow(10.0, floor(log10(raw))), m = raw / p;
    return p * (m < 1.5 ? 1.0 : m < 2.25 ? 2.0 : m < 3.5 ? 2.5 : m < 7.5 ? 5.0 : 10.0);
}

/* Decimals needed to print every multiple of step exactly: 0.2 -> 1, 0.25 -> 2,
 * 2.5 -> 1, 25 -> 0, 5 -> 0. */
static inline int ticks_decimals(double step) {
    double e = floor(log10(step) + 1e-9);
    int d = e < 0 ? (int)-e : 0;
    return fabs(step / pow(10.0, e) - 2.5) < 1e-6 && e <= 0 ? d + 1 : d;
}

#endif
