/*
 * cmd_attr.c: "sbctl attr REF NAME", the value of obj.name.
 */
#include "sbctl.h"

int
cmd_attr_exec(struct sbctl *ctx, const struct sbctl_cmd *cmd, int argc,
    char **argv)
{
	sb_value	*ref, *result = NULL;
	sb_error	*err = NULL;
	int		 code, rc;

	if ((code = args_ref(cmd, argv[0], &ref)) != 0)
		return (code);
	if ((code = sbctl_connect(ctx, cmd)) == 0) {
		rc = sb_attr(ctx->client, ref, argv[1], NULL, &result, &err);
		code = print_outcome(ctx, rc, result, err);
	}
	sb_value_free(ref);
	return (code);
}
