/*
 * cmd_next.c: "sbctl next REF [N]", up to N (default 1) items of an
 * iterator ref; prints [items, done].
 */
#include "sbctl.h"

int
cmd_next_exec(struct sbctl *ctx, const struct sbctl_cmd *cmd, int argc,
    char **argv)
{
	sb_value	*ref, *result = NULL;
	sb_error	*err = NULL;
	int64_t		 n = 1;
	int		 code, rc;

	if (argc > 1 && (code = args_count(cmd, "N", argv[1], 1,
	    INT32_MAX, &n)) != 0)
		return (code);
	if ((code = args_ref(cmd, argv[0], &ref)) != 0)
		return (code);
	if ((code = sbctl_connect(ctx, cmd)) == 0) {
		rc = sb_next(ctx->client, ref, (size_t)n, NULL, &result, &err);
		code = print_outcome(ctx, rc, result, err);
	}
	sb_value_free(ref);
	return (code);
}
