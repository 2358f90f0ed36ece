/* Replays a `nook run --rm`, `exec` or `sandbox` the TypeScript side decided before
 * (docs/fast-path.md): for a run, a new container in the store with a fresh id, name and
 * created time around the recorded plan, removed when it ends; else the plan alone. */
#ifndef NOOK_LAUNCHER_REPLAY_H
#define NOOK_LAUNCHER_REPLAY_H

#include "entry.h"

enum replay_outcome {
	REPLAY_DONE,	 /* the container ran: *status is its exit code */
	REPLAY_DECLINED, /* nothing ran and nothing is left: decide afresh */
	REPLAY_FAILED,	 /* the runtime reported a failure before the command ran: decide afresh */
};

/* @node_argv: how to run the CLI itself, for a removal only container root can do. */
enum replay_outcome fast_replay(const struct fast_entry *entry, char *const node_argv[], int *status);

#endif
