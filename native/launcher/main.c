/* bin/nook: the command users run. It answers --version itself, replays a `nook run`,
 * `exec` or `sandbox` that the CLI decided before when none of that decision's inputs changed (docs/fast-path.md),
 * stops running containers as their recipes say, and otherwise runs the CLI (bin/nook.cjs) with the node found on PATH, as a
 * `#!/usr/bin/env node` line would. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "entry.h"
#include "replay.h"
#include "stop_command.h"

#ifndef NOOK_VERSION
#error "NOOK_VERSION must be defined (scripts/build.mjs passes package.json's)"
#endif

static char loader[PATH_MAX];

static int find_loader(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash;

	if (n <= 0)
		return -1;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return snprintf(loader, sizeof loader, "%s/nook.cjs", self) >= (int)sizeof loader ? -1 : 0;
}

static _Noreturn void run_cli(int argc, char **argv)
{
	char **args = calloc((size_t)argc + 2, sizeof *args);

	if (!args) {
		fputs("Error: out of memory\n", stderr);
		exit(125);
	}
	args[0] = "node";
	args[1] = loader;
	for (int i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	execvp("node", args);
	fprintf(stderr, "Error: cannot run node: %s (hint: install Node.js 20 or newer and put it on PATH)\n", strerror(errno));
	exit(125);
}

/* Returns only when there is nothing to replay; exits with the container's status when there was. */
static void try_replay(int argc, char **argv)
{
	char cwd[PATH_MAX], runtime_dir[PATH_MAX], path[PATH_MAX];
	char *node_argv[] = { "node", loader, NULL };
	struct fast_entry entry;
	int status = 0;

	if (getenv("NOOK_NO_FAST_PATH") || argc < 2 ||
	    (strcmp(argv[1], "run") != 0 && strcmp(argv[1], "exec") != 0 && strcmp(argv[1], "sandbox") != 0))
		return;
	if (!getcwd(cwd, sizeof cwd) || fast_runtime_dir(runtime_dir, sizeof runtime_dir) < 0 ||
	    fast_entry_path(path, sizeof path, runtime_dir, argc, argv, cwd) < 0)
		return;
	if (!fast_entry_load(path, argc, argv, cwd, &entry)) {
		if (getenv("NOOK_FAST_PATH_DEBUG"))
			fprintf(stderr, "nook: not replayed: %s\n", fast_entry_miss());
		return;
	}
	switch (fast_replay(&entry, node_argv, &status)) {
	case REPLAY_DONE:
		exit(status);
	case REPLAY_FAILED:
		/* Nothing of the command ran: the CLI decides again and words the failure. */
		if (getenv("NOOK_FAST_PATH_DEBUG"))
			fputs("nook: replay failed before the command ran: the CLI runs it\n", stderr);
		unlink(path);
		break;
	case REPLAY_DECLINED:
		if (getenv("NOOK_FAST_PATH_DEBUG"))
			fputs("nook: replay declined (the name is taken, or the store cannot be written): the CLI runs it\n", stderr);
		break;
	}
	fast_entry_free(&entry);
}

int main(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0)) {
		puts(NOOK_VERSION);
		return 0;
	}
	if (find_loader() < 0) {
		fputs("Error: cannot find bin/nook.cjs next to bin/nook (hint: run nook from its checkout, built with \"npm install\")\n", stderr);
		return 125;
	}
	try_replay(argc, argv);
	try_stop(argc, argv);
	run_cli(argc, argv);
}
