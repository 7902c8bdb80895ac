/* job.h: one background job on its own thread, with progress and cancel (the app's
 * head roles, importance sweep and length measurements all run as jobs, so the
 * window keeps drawing while they work).
 *
 * The thread runs fn(job, user) once. fn reports progress with job_progress and
 * checks job_cancelled between steps; the app's frame polls job_state and, once the
 * job has finished, collects its results and calls job_join. Everything shared
 * between the two threads is under mu: progress, the cancel flag, finished. */
#ifndef AVZ_JOB_H
#define AVZ_JOB_H

#include <pthread.h>

typedef struct Job Job;
typedef void (*JobFn)(Job *job, void *user);

struct Job {
    pthread_t thread;
    pthread_mutex_t mu;
    int started;                /* a thread exists: join it once finished */
    int done, total;            /* progress (under mu) */
    int cancel, finished;       /* (under mu) */
    JobFn fn;
    void *user;
};

typedef enum { JOB_IDLE = 0, JOB_RUNNING, JOB_FINISHED } JobState;

void job_init(Job *j);          /* once, before any other call */
void job_destroy(Job *j);       /* after job_stop */

/* Starts fn(j, user) on a new thread with progress 0 of total. Returns 0, or -1 when
 * no thread could be started (nothing runs). The job must be idle. */
int job_start(Job *j, JobFn fn, void *user, int total);

/* From fn: reports progress; returns 1 when the job was asked to stop. */
int job_progress(Job *j, int done, int total);
int job_cancelled(Job *j);

/* Asks a started job to stop at its next check (a finished one's results are then
 * to be dropped); returns 1 the first time it is asked, 0 when idle or asked before. */
int job_cancel(Job *j);

/* Where the job is; its progress into done / total (either may be NULL). */
JobState job_state(Job *j, int *done, int *total);

/* Waits for the thread (after JOB_FINISHED, or to stop one) and makes the job idle. */
void job_join(Job *j);

/* job_cancel + job_join if one is running. */
void job_stop(Job *j);

#endif
