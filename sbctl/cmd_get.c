/*
 * cmd_get.c: "sbctl get MODULE ATTR", the value of module.attr.
 */
#include "sbctl.h"

int
cmd_get_exec(struct sbctl *ctx, const struct sbctl_cmd *cmd, int argc,
    char **argv)
{
	sb_value	*result = NULL;
	sb_error	*err = NULL;
	int		 code, rc;

	if ((code = sbctl_connect(ctx, cmd)) != 0)
		return (code);
	rc = sb_get(ctx->client, argv[0], argv[1], NULL, &result, &err);
	return (print_outcome(ctx, rc, result, err));
}
