/*
 * cmd_getitem.c: "sbctl getitem REF KEY", the value of obj[key].
 */
#include "sbctl.h"

int
cmd_getitem_exec(struct sbctl *ctx, const struct sbctl_cmd *cmd, int argc,
    char **argv)
{
	sb_value	*ref, *key, *result = NULL;
	sb_error	*err = NULL;
	int		 code, rc;

	if ((code = args_ref(cmd, argv[0], &ref)) != 0)
		return (code);
	if ((code = args_value(cmd, argv[1], &key)) != 0) {
		sb_value_free(ref);
		return (code);
	}
	if ((code = sbctl_connect(ctx, cmd)) == 0) {
		rc = sb_getitem(ctx->client, ref, key, NULL, &result, &err);
		code = print_outcome(ctx, rc, result, err);
	}
	sb_value_free(ref);
	sb_value_free(key);
	return (code);
}
