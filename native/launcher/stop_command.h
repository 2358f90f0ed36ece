/* `nook stop [-t SECONDS] CONTAINER...` without Node (docs/fast-path.md, "Stop"). How each
 * container is stopped is what TypeScript decided and wrote down beside its record: its
 * name, stop signal and timeout (src/store/stop-recipe.ts); the monitor's state line names
 * the processes. Anything off the plain path (an option it does not take, an ID prefix, a
 * container that is not running, a recipe that does not match the name) goes to the CLI
 * whole, before anything is done. */
#ifndef NOOK_LAUNCHER_STOP_COMMAND_H
#define NOOK_LAUNCHER_STOP_COMMAND_H

/* Returns when the CLI is to run the command; exits with its status when it ran. */
void try_stop(int argc, char **argv);

#endif
