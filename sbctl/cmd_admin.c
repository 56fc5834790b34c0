/*
 * cmd_admin.c: the admin commands "sbctl reload", "sbctl shutdown" and
 * "sbctl restart POOL [SLOT]" (root or the daemon's own user); each prints
 * the daemon's answer (true).
 */
#include <errno.h>
#include <stdlib.h>

#include "sbctl.h"

/* Params of worker.restart: [pool, slot?]; NULL after a usage error. */
static sb_value *
cmd_admin_restart_params(const struct sbctl_cmd *cmd, int argc, char **argv)
{
	sb_value *params = sb_list_new();
	unsigned long long slot;
	char *end;

	sb_list_append(params, sb_str(argv[0]));
	if (argc > 1) {
		errno = 0;
		slot = strtoull(argv[1], &end, 10);
		if (*argv[1] == '\0' || *argv[1] == '-' || *end != '\0' ||
		    errno != 0 || slot > 65535) {
			sb_value_free(params);
			sbctl_usage_error(cmd, "SLOT must be a worker slot "
			    "number, not '%s'", argv[1]);
			return (NULL);
		}
		sb_list_append(params, sb_uint(slot));
	}
	return (params);
}

int
cmd_admin_exec(struct sbctl *ctx, const struct sbctl_cmd *cmd, int argc,
    char **argv)
{
	const char	*method = cmd->data;
	sb_value	*params = NULL, *result = NULL;
	sb_error	*err = NULL;
	int		 code, rc;

	if (argc > 0 &&
	    (params = cmd_admin_restart_params(cmd, argc, argv)) == NULL)
		return (SBCTL_EXIT_USAGE);
	if ((code = sbctl_connect(ctx, cmd)) != 0) {
		sb_value_free(params);
		return (code);
	}
	rc = sb_request(ctx->client, method, params, &result, &err);
	sb_value_free(params);
	return (print_outcome(ctx, rc, result, err));
}
