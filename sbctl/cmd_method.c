/*
 * cmd_method.c: "sbctl method REF NAME [ARG...] [--kw NAME=VALUE...]",
 * obj.name(*args, **kwargs) on a ref.
 */
#include "sbctl.h"

int
cmd_method_exec(struct sbctl *ctx, const struct sbctl_cmd *cmd, int argc,
    char **argv)
{
	sb_value	*ref, *args, *kwargs, *result = NULL;
	sb_error	*err = NULL;
	int		 code, rc;

	if ((code = args_ref(cmd, argv[0], &ref)) != 0)
		return (code);
	if ((code = args_call(cmd, argc - 2, argv + 2, &args, &kwargs)) != 0) {
		sb_value_free(ref);
		return (code);
	}
	if ((code = sbctl_connect(ctx, cmd)) == 0) {
		rc = sb_method(ctx->client, ref, argv[1], args, kwargs, NULL,
		    &result, &err);
		code = print_outcome(ctx, rc, result, err);
	}
	sb_value_free(ref);
	sb_value_free(args);
	sb_value_free(kwargs);
	return (code);
}
