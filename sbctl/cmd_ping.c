/*
 * cmd_ping.c: "sbctl ping", prints the daemon's answer ("pong").
 */
#include "sbctl.h"

int
cmd_ping_exec(struct sbctl *ctx, const struct sbctl_cmd *cmd, int argc,
    char **argv)
{
	sb_value	*result = NULL;
	sb_error	*err = NULL;
	int		 code, rc;

	if ((code = sbctl_connect(ctx, cmd)) != 0)
		return (code);
	rc = sb_request(ctx->client, "ping", NULL, &result, &err);
	return (print_outcome(ctx, rc, result, err));
}
