/* nook-runtime signal PID START SIGNAL: how nook stop and nook kill signal a container's
 * PID 1. Node cannot hold a pidfd, and a pid alone may name another process by the time a
 * signal reaches it: this mode opens a pidfd, checks the process's start time (proc.h) and
 * signals through the pidfd. */
#ifndef NOOK_KILL_H
#define NOOK_KILL_H

/* Exit status: the signal was sent. */
#define NOOK_SIGNAL_SENT 0
/* Exit status: no process with that pid and start time (it exited, or was reaped and the
 * pid reused): nothing was signalled. */
#define NOOK_SIGNAL_GONE 3

/* Returns the exit status; anything else than the two above is 125, with one line on
 * stderr. */
int nook_signal_main(int argc, char **argv);

#endif
