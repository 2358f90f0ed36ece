/* libFuzzer target: the plan decoder (native/src/plan.c) on arbitrary bytes, as fd 3 could
 * deliver them. Built with ASan and UBSan by scripts/fuzz.mjs; every input must either
 * decode into a plan whose records point inside it, or fail with a message, never crash,
 * read out of bounds, overflow or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../native/src/plan.h"

/* Every string of a decoded plan points into its buffer and ends there. */
static void check_string(const struct nook_plan *plan, const char *s)
{
	if (s && (s < plan->buf || s + strlen(s) >= plan->buf + plan->len))
		abort();
}

static void check_vector(const struct nook_plan *plan, char **vec)
{
	for (; vec && *vec; vec++)
		check_string(plan, *vec);
}

static void check_plan(const struct nook_plan *plan)
{
	for (size_t i = 0; i < plan->n_ops; i++) {
		const struct nook_op *op = &plan->ops[i];

		if (op->index < 0 || op->index >= plan->n_records)
			abort();
		if (op->code == NOOK_OP_EXEC) {
			if (!op->exec.argv || !op->exec.argv[0] || !op->exec.envp)
				abort();
			check_vector(plan, op->exec.argv);
			check_vector(plan, op->exec.envp);
		}
	}
	/* The runtime relies on a plan ending with its command. */
	if (plan->n_ops == 0 || plan->ops[plan->n_ops - 1].code != NOOK_OP_EXEC)
		abort();
	check_vector(plan, plan->exit_argv);
	check_string(plan, plan->state);
	check_string(plan, plan->stdio.log);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nook_plan plan = { 0 };
	struct nook_error e = { 0 };

	/* An exact-size copy: the decoder writes into its buffer, and ASan then sees any read
	 * past the end. */
	plan.buf = malloc(size ? size : 1);
	if (!plan.buf)
		return 0;
	memcpy(plan.buf, data, size);
	plan.len = size;
	if (nook_plan_decode(&plan, &e) == 0)
		check_plan(&plan);
	else if (e.detail[0] == '\0')
		abort(); /* a failure must say why */
	nook_plan_free(&plan);
	return 0;
}
