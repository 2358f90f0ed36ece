/* The runtime's parent side while a container runs: relays signals, carries the
 * container's output (pipes or terminal) to the log and to its own stdio and its own
 * stdin to the container, and turns the container's end into an exit status. */
#ifndef NOOK_MONITOR_H
#define NOOK_MONITOR_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <termios.h>

#include "report.h"
#include "sink.h"
#include "streams.h"

void nook_forwarded_signals(sigset_t *set);

/* In a child of the monitor, before it unblocks the forwarded signals: the monitor's
 * relays are not the child's, and a signal arriving before its execve must act as it
 * would on the command. */
void nook_monitor_signals_default(void);

/* Installs the relays once per monitor. Expects @forwarded blocked: it stays blocked but
 * while the monitor waits. @tty: SIGWINCH resizes the container's terminal instead. */
int nook_monitor_setup(const sigset_t *forwarded, bool tty, struct nook_error *e);

/* One container start, watched. The caller fills the first block. */
struct nook_watch {
	pid_t child;
	uint64_t child_start;	/* its start time (proc.h) */
	int pidfd;		/* the child's, for waiting in poll */
	int syncfd;		/* the monitor's end of the sync socket */
	struct nook_streams streams;
	int logfd;		/* -1: no log file */
	bool relay_output;	/* foreground: output also goes to the monitor's fd 1 and 2 */
	struct nook_sink *out, *err;	/* fd 1 and 2 (NOOK_SINK_NONE unless relay_output),
					 * owned by the caller: they outlast one start */
	bool relay_input;	/* foreground with stdin: fd 0 goes to the container's
				 * terminal, or to its stdin pipe (streams.c) */
	bool drain_to_eof;	/* the child is PID 1 of its namespace: its end closes every
				 * copy of the output's write ends */

	int master;		/* the container's terminal; -1: none, not yet, or at its end */
	bool synced;		/* the sync socket ended: the command runs, or failed */
	bool failed;		/* a setup op failed */
	bool exited;
	int status;		/* once exited: exit code, or 128+signal */
	bool input_done;
	char pending[4096];	/* read from fd 0, not yet taken by the container */
	size_t pending_len, pending_off;
	bool raw;		/* fd 0 is in raw mode, saved_termios restores it */
	struct termios saved_termios;
};

/* Watches until the command has been exec'd or has failed to start (@w->failed). */
int nook_watch_start(struct nook_watch *w, struct nook_error *e);

/* Watches until the container has exited and its output is drained; @w->status. */
int nook_watch_exit(struct nook_watch *w, struct nook_error *e);

/* Restores the terminal and closes what the watch holds; the child must be reaped or
 * killed by the caller if the watch failed. */
void nook_watch_end(struct nook_watch *w);

/* Reports the failure, kills and reaps the child if there is one, ends the watch. Returns
 * the exit status for it, 125. */
int nook_watch_give_up(struct nook_watch *w, int index, const char *op,
		       const struct nook_error *e);

#endif
