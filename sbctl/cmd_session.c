/*
 * cmd_session.c: "sbctl session open|close|info|list": named sessions, which
 * keep refs alive across sbctl invocations. NAME defaults to --session.
 */
#include <string.h>

#include "sbctl.h"

struct session_sub {
	const char	*name;
	int		 takes_name;	/* 1: optional NAME, 2: NAME needed */
	int		 max_options;	/* words after NAME */
	int		(*run)(sb_client *, const char *, const sb_value *,
			    sb_value **, sb_error **);
};

/*
 * Settings for session.open (*out, NULL when there are none): from
 * "--idle-timeout SECONDS" in argv and the global --pool. 0 or an exit code.
 */
int
cmd_session_settings(struct sbctl *ctx, const struct sbctl_cmd *cmd, int argc,
    char **argv, sb_value **out)
{
	int64_t	 idle = 0;
	int	 code;

	*out = NULL;
	if (argc == 0 && ctx->pool == NULL)
		return (0);
	if (argc != 0 && (argc != 2 || strcmp(argv[0], "--idle-timeout") != 0))
		return (sbctl_usage_error(cmd, "session open takes [NAME] "
		    "[--idle-timeout SECONDS]"));
	if (argc != 0 && (code = args_count(cmd, "--idle-timeout", argv[1],
	    0, INT32_MAX, &idle)) != 0)
		return (code);
	if ((*out = sb_map_new()) == NULL)
		return (print_local_error(SB_ENOMEM, "session"));
	if ((argc != 0 && sb_map_set(*out, sb_str("idle_timeout"),
	    sb_int(idle)) != 0) || (ctx->pool != NULL &&
	    sb_map_set(*out, sb_str("pool"), sb_str(ctx->pool)) != 0)) {
		sb_value_free(*out);
		*out = NULL;
		return (print_local_error(SB_ENOMEM, "session"));
	}
	return (0);
}

static int
session_open(sb_client *c, const char *name, const sb_value *settings,
    sb_value **result, sb_error **err)
{
	return (sb_session_open(c, name, settings, result, err));
}

static int
session_close(sb_client *c, const char *name, const sb_value *settings,
    sb_value **result, sb_error **err)
{
	int	 rc;

	rc = sb_session_close(c, name, err);
	*result = rc == 0 ? sb_bool(1) : NULL;
	return (rc);
}

static int
session_info(sb_client *c, const char *name, const sb_value *settings,
    sb_value **result, sb_error **err)
{
	return (sb_session_info(c, name, result, err));
}

static int
session_list(sb_client *c, const char *name, const sb_value *settings,
    sb_value **result, sb_error **err)
{
	return (sb_session_list(c, result, err));
}

static const struct session_sub session_subs[] = {
	{ "open", 1, 2, session_open },
	{ "close", 2, 0, session_close },
	{ "info", 2, 0, session_info },
	{ "list", 0, 0, session_list },
};

/*
 * Find the subcommand, take NAME from the words or --session, connect and
 * print the result.
 */
int
cmd_session_exec(struct sbctl *ctx, const struct sbctl_cmd *cmd, int argc,
    char **argv)
{
	const struct session_sub *sub = NULL;
	const char	*name = ctx->session;
	sb_value	*settings = NULL, *result = NULL;
	sb_error	*err = NULL;
	size_t		 i;
	int		 code, rc;

	for (i = 0; i < sizeof session_subs / sizeof session_subs[0]; i++) {
		if (strcmp(argv[0], session_subs[i].name) == 0)
			sub = &session_subs[i];
	}
	if (sub == NULL)
		return (sbctl_usage_error(cmd, "unknown session command \"%s\"",
		    argv[0]));
	argc--;
	argv++;
	if (argc > 0 && sub->takes_name && strncmp(argv[0], "--", 2) != 0) {
		name = argv[0];
		argc--;
		argv++;
	}
	if (sub->takes_name == 2 && name == NULL)
		return (sbctl_usage_error(cmd, "session %s needs NAME or "
		    "--session", sub->name));
	if (argc > sub->max_options)
		return (sbctl_usage_error(cmd, "too many arguments for "
		    "session %s", sub->name));
	if (sub->run == session_open &&
	    (code = cmd_session_settings(ctx, cmd, argc, argv,
	    &settings)) != 0)
		return (code);
	if ((code = sbctl_connect(ctx, cmd)) == 0) {
		rc = sub->run(ctx->client, name, settings, &result, &err);
		code = print_outcome(ctx, rc, result, err);
	}
	sb_value_free(settings);
	return (code);
}
