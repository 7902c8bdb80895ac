/* job.c: one background job on its own thread (see job.h). */
#include "gui/job.h"

#include <string.h>

void job_init(Job *j) {
    memset(j, 0, sizeof *j);
    pthread_mutex_init(&j->mu, NULL);
}

void job_destroy(Job *j) { pthread_mutex_destroy(&j->mu); }

static void *job_main(void *p) {
    Job *j = p;
    j->fn(j, j->user);
    pthread_mutex_lock(&j->mu);
    j->finished = 1;
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

int job_start(Job *j, JobFn fn, void *user, int total) {
    if (j->started) return -1;
    j->fn = fn;
    j->user = user;
    j->done = 0;
    j->total = total;
    j->cancel = j->finished = 0;
    if (pthread_create(&j->thread, NULL, job_main, j) != 0) return -1;
    j->started = 1;
    return 0;
}

int job_progress(Job *j, int done, int total) {
    pthread_mutex_lock(&j->mu);
    j->done = done;
    j->total = total;
    int cancel = j->cancel;
    pthread_mutex_unlock(&j->mu);
    return cancel;
}

int job_cancelled(Job *j) {
    pthread_mutex_lock(&j->mu);
    int cancel = j->cancel;
    pthread_mutex_unlock(&j->mu);
    return cancel;
}

int job_cancel(Job *j) {
    if (!j->started) return 0;
    pthread_mutex_lock(&j->mu);
    int was = !j->cancel;
    j->cancel = 1;
    pthread_mutex_unlock(&j->mu);
    return was;
}

JobState job_state(Job *j, int *done, int *total) {
    if (!j->started) return JOB_IDLE;
    pthread_mutex_lock(&j->mu);
    if (done) *done = j->done;
    if (total) *total = j->total;
    int fin = j->finished;
    pthread_mutex_unlock(&j->mu);
    return fin ? JOB_FINISHED : JOB_RUNNING;
}

void job_join(Job *j) {
    if (!j->started) return;
    pthread_join(j->thread, NULL);
    j->started = 0;
}

void job_stop(Job *j) {
    job_cancel(j);
    job_join(j);
}
