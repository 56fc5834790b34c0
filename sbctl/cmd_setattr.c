/*
 * cmd_setattr.c: "sbctl setattr REF NAME VALUE", obj.name = value; prints
 * true.
 */
#include "sbctl.h"

int
cmd_setattr_exec(struct sbctl *ctx, const struct sbctl_cmd *cmd, int argc,
    char **argv)
{
	sb_value	*ref, *value;
	sb_error	*err = NULL;
	int		 code, rc;

	if ((code = args_ref(cmd, argv[0], &ref)) != 0)
		return (code);
	if ((code = args_value(cmd, argv[2], &value)) != 0) {
		sb_value_free(ref);
		return (code);
	}
	if ((code = sbctl_connect(ctx, cmd)) == 0) {
		rc = sb_setattr(ctx->client, ref, argv[1], value, NULL, &err);
		code = print_outcome(ctx, rc, rc == 0 ? sb_bool(1) : NULL, err);
	}
	sb_value_free(ref);
	sb_value_free(value);
	return (code);
}
