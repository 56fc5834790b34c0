/*
 * cmd_call.c: "sbctl call MODULE FUNC [ARG...] [--kw NAME=VALUE...]",
 * module.func(*args, **kwargs).
 */
#include "sbctl.h"

int
cmd_call_exec(struct sbctl *ctx, const struct sbctl_cmd *cmd, int argc,
    char **argv)
{
	sb_value	*args, *kwargs, *result = NULL;
	sb_error	*err = NULL;
	int		 code, rc;

	if ((code = args_call(cmd, argc - 2, argv + 2, &args, &kwargs)) != 0)
		return (code);
	if ((code = sbctl_connect(ctx, cmd)) == 0) {
		rc = sb_call(ctx->client, argv[0], argv[1], args, kwargs, NULL,
		    &result, &err);
		code = print_outcome(ctx, rc, result, err);
	}
	sb_value_free(args);
	sb_value_free(kwargs);
	return (code);
}
