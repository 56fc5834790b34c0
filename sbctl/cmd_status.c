/*
 * cmd_status.c: "sbctl status", the daemon's status map as JSON.
 */
#include "sbctl.h"

int
cmd_status_exec(struct sbctl *ctx, const struct sbctl_cmd *cmd, int argc,
    char **argv)
{
	sb_value	*result = NULL;
	sb_error	*err = NULL;
	int		 code, rc;

	if ((code = sbctl_connect(ctx, cmd)) != 0)
		return (code);
	rc = sb_status(ctx->client, &result, &err);
	return (print_outcome(ctx, rc, result, err));
}
