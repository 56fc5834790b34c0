/*
 * cmd_ref.c: the requests whose only parameter is a ref: "sbctl repr REF",
 * "str REF", "len REF", "dir REF" and "iter REF". The table entry's data
 * points to the library call to make.
 */
#include "sbctl.h"

int
cmd_ref_exec(struct sbctl *ctx, const struct sbctl_cmd *cmd, int argc,
    char **argv)
{
	const sbctl_ref_fn	*fn = cmd->data;
	sb_value		*ref, *result = NULL;
	sb_error		*err = NULL;
	int			 code, rc;

	if ((code = args_ref(cmd, argv[0], &ref)) != 0)
		return (code);
	if ((code = sbctl_connect(ctx, cmd)) == 0) {
		rc = (*fn)(ctx->client, ref, NULL, &result, &err);
		code = print_outcome(ctx, rc, result, err);
	}
	sb_value_free(ref);
	return (code);
}
