/* Replays a `nook run --rm` the TypeScript side decided before (docs/fast-path.md): a new
 * container in the store with a fresh id, name and created time, the runtime run on the
 * recorded plan, and the container removed when it ends. */
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
