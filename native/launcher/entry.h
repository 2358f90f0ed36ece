/* A replayable run, exec or sandbox, as src/runtime/fast-entry.ts writes it (docs/fast-path.md): read,
 * checked against this process's inputs, and decoded. Strings point into the entry's
 * buffer and are NUL-terminated there. */
#ifndef NOOK_LAUNCHER_ENTRY_H
#define NOOK_LAUNCHER_ENTRY_H

#include <stdbool.h>
#include <stddef.h>

struct bytes {
	const char *p;
	size_t len;
};

enum entry_kind { ENTRY_FILE, ENTRY_DIR, ENTRY_LINK };

struct entry_file {
	const char *path;
	enum entry_kind kind;
	unsigned mode;
	struct bytes content; /* a link's: its target */
};

struct fast_entry {
	char *buf; /* owns every string below */
	const char *runtime;
	bool pass_stdin;
	struct bytes plan;
	/* run: a container made around the plan (the fields below); else the plan alone */
	bool new_container;
	const char *containers_dir, *names_dir;
	const char *id, *created;
	bool random_name;
	const char *name;
	const char **adjectives, **nouns;
	size_t n_adjectives, n_nouns;
	struct entry_file *files;
	size_t n_files;
};

/* The runtime dir the TypeScript side writes entries to (src/sys/paths.ts), into @out. */
int fast_runtime_dir(char *out, size_t size);

/* The entry file for this command line and cwd, into @out. */
int fast_entry_path(char *out, size_t size, const char *runtime_dir, int argc, char **argv, const char *cwd);

/* Reads the entry at @path and checks it applies to this process (argv, cwd, ids, ttys,
 * kernel, environment, interfaces, every dependency): true with @entry filled, false when it
 * does not apply or cannot be read (the caller then decides afresh through Node). */
bool fast_entry_load(const char *path, int argc, char **argv, const char *cwd, struct fast_entry *entry);

/* Why the last fast_entry_load() returned false, for NOOK_FAST_PATH_DEBUG. */
const char *fast_entry_miss(void);

void fast_entry_free(struct fast_entry *entry);

#endif
