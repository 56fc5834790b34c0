/*
 * cmd_release.c: "sbctl release REF...", one request releasing every ref
 * given; prints true.
 */
#include "sbctl.h"

int
cmd_release_exec(struct sbctl *ctx, const struct sbctl_cmd *cmd, int argc,
    char **argv)
{
	sb_value	*refs, *ref;
	sb_error	*err = NULL;
	int		 code = 0, rc, i;

	if ((refs = sb_list_new()) == NULL)
		return (print_local_error(SB_ENOMEM, "release"));
	for (i = 0; i < argc && code == 0; i++) {
		if ((code = args_ref(cmd, argv[i], &ref)) == 0 &&
		    sb_list_append(refs, ref) != 0)
			code = print_local_error(SB_ENOMEM, "release");
	}
	if (code == 0 && (code = sbctl_connect(ctx, cmd)) == 0) {
		rc = sb_release(ctx->client, refs, NULL, &err);
		code = print_outcome(ctx, rc, rc == 0 ? sb_bool(1) : NULL, err);
	}
	sb_value_free(refs);
	return (code);
}
