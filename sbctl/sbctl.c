/*
 * sbctl.c: the shell tool's entry point: global options, the command table,
 * usage errors, and connecting (attaching --session first).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "sbctl.h"

/* The one-ref requests share cmd_ref_exec; data is the library call. */
static const sbctl_ref_fn sbctl_repr_fn = sb_repr;
static const sbctl_ref_fn sbctl_str_fn = sb_pystr;
static const sbctl_ref_fn sbctl_len_fn = sb_len;
static const sbctl_ref_fn sbctl_dir_fn = sb_dir;

static const struct sbctl_cmd sbctl_cmds[] = {
	{ "call", "MODULE FUNC [ARG...] [--kw NAME=VALUE...]", 2, -1, 0,
	    cmd_call_exec, NULL },
	{ "get", "MODULE ATTR", 2, 2, 0, cmd_get_exec, NULL },
	{ "method", "REF NAME [ARG...] [--kw NAME=VALUE...]", 2, -1, 0,
	    cmd_method_exec, NULL },
	{ "attr", "REF NAME", 2, 2, 0, cmd_attr_exec, NULL },
	{ "setattr", "REF NAME VALUE", 3, 3, 0, cmd_setattr_exec, NULL },
	{ "repr", "REF", 1, 1, 0, cmd_ref_exec, &sbctl_repr_fn },
	{ "str", "REF", 1, 1, 0, cmd_ref_exec, &sbctl_str_fn },
	{ "len", "REF", 1, 1, 0, cmd_ref_exec, &sbctl_len_fn },
	{ "dir", "REF", 1, 1, 0, cmd_ref_exec, &sbctl_dir_fn },
	{ "iter", "REF [--limit N]", 1, 3, 0, cmd_iter_exec, NULL },
	{ "getitem", "REF KEY", 2, 2, 0, cmd_getitem_exec, NULL },
	{ "next", "REF [N]", 1, 2, 0, cmd_next_exec, NULL },
	{ "stream", "MODULE FUNC [ARG...] [--kw NAME=VALUE...] [--limit N]",
	    2, -1, 0, cmd_stream_exec, NULL },
	{ "release", "REF...", 1, -1, 0, cmd_release_exec, NULL },
	{ "ping", "", 0, 0, 0, cmd_ping_exec, NULL },
	{ "status", "[--json]", 0, 1, 0, cmd_status_exec, NULL },
	{ "stats", "[--prometheus]", 0, 1, 0, cmd_stats_exec, NULL },
	{ "events", "[TYPE...]", 0, 16, 0, cmd_events_exec, NULL },
	{ "session", "open|close|info|list [NAME] [--idle-timeout SECONDS]",
	    1, 4, SBCTL_CMD_OWNSESSION, cmd_session_exec, NULL },
	{ "reload", "", 0, 0, 0, cmd_admin_exec, "reload" },
	{ "shutdown", "", 0, 0, 0, cmd_admin_exec, "shutdown" },
	{ "restart", "POOL [SLOT]", 1, 2, 0, cmd_admin_exec,
	    "worker.restart" },
};
#define SBCTL_NCMDS (sizeof sbctl_cmds / sizeof sbctl_cmds[0])

static const char sbctl_options[] =
    "[-s SOCKET] [--session NAME] [--pool NAME] [--timeout MS] "
    "[--profile NAME] [--raw]";

static void
sbctl_usage(FILE *f)
{
	size_t	 i;

	fprintf(f, "usage: sbctl %s COMMAND ...\ncommands:\n", sbctl_options);
	for (i = 0; i < SBCTL_NCMDS; i++)
		fprintf(f, "  %s%s%s\n", sbctl_cmds[i].name,
		    sbctl_cmds[i].usage[0] != '\0' ? " " : "",
		    sbctl_cmds[i].usage);
}

/* Print a usage error (for cmd, or the whole tool when NULL); returns 2. */
int
sbctl_usage_error(const struct sbctl_cmd *cmd, const char *fmt, ...)
{
	va_list	 ap;

	fputs("sbctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd != NULL)
		fprintf(stderr, "usage: sbctl %s %s\n", cmd->name, cmd->usage);
	else
		sbctl_usage(stderr);
	return (SBCTL_EXIT_USAGE);
}

/*
 * Connect, set the per-client defaults from the options, and attach the
 * --session (session.open attaches or creates it) unless cmd handles
 * sessions itself. Returns 0 or an exit code.
 */
int
sbctl_connect(struct sbctl *ctx, const struct sbctl_cmd *cmd)
{
	char		 path[4096];
	sb_value	*settings = NULL, *info = NULL;
	sb_error	*err = NULL;
	int		 rc;

	if (ctx->socket != NULL)
		snprintf(path, sizeof path, "%s", ctx->socket);
	else if (sb_default_socket_path(path, sizeof path) != 0)
		snprintf(path, sizeof path, "the default socket");
	rc = sb_client_connect(ctx->socket, &ctx->client);
	if (rc != 0) {
		if (rc == SB_ECONNECT || rc == SB_ECLOSED) {
			fprintf(stderr, "sbctl: cannot reach the daemon at %s: "
			    "%s\n", path, sb_strerror(rc));
			return (SBCTL_EXIT_UNREACHABLE);
		}
		return (print_local_error(rc, "connect"));
	}
	if ((ctx->pool != NULL && sb_client_set_pool(ctx->client,
	    ctx->pool) != 0) || (ctx->profile != NULL &&
	    sb_client_set_profile(ctx->client, ctx->profile) != 0) ||
	    sb_client_set_timeout(ctx->client, ctx->timeout) != 0)
		return (print_local_error(SB_ENOMEM, "options"));
	if (ctx->session == NULL || (cmd->flags & SBCTL_CMD_OWNSESSION))
		return (0);
	if ((rc = cmd_session_settings(ctx, cmd, 0, NULL, &settings)) != 0)
		return (rc);
	rc = sb_session_open(ctx->client, ctx->session, settings, &info, &err);
	sb_value_free(settings);
	sb_value_free(info);
	if (rc == SB_EREMOTE && err != NULL) {
		rc = print_remote_error(err);
		sb_error_free(err);
		return (rc);
	}
	if (rc != 0)
		return (print_local_error(rc, "session.open"));
	if (sb_client_set_session(ctx->client, ctx->session) != 0)
		return (print_local_error(SB_ENOMEM, "session"));
	return (0);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "session", required_argument, NULL, 'S' },
		{ "pool", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "profile", required_argument, NULL, 'P' },
		{ "raw", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct sbctl		 ctx;
	const struct sbctl_cmd	*cmd = NULL;
	size_t			 i;
	int			 ch, code;

	memset(&ctx, 0, sizeof ctx);
	ctx.timeout = -1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:s:rhV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's':
			ctx.socket = optarg;
			break;
		case 'S':
			ctx.session = optarg;
			break;
		case 'p':
			ctx.pool = optarg;
			break;
		case 'P':
			ctx.profile = optarg;
			break;
		case 't':
			if ((code = args_count(NULL, "--timeout", optarg, 0,
			    INT32_MAX, &ctx.timeout)) != 0)
				return (code);
			break;
		case 'r':
			ctx.raw = 1;
			break;
		case 'h':
			sbctl_usage(stdout);
			return (SBCTL_EXIT_OK);
		case 'V':
			printf("sbctl %s\n", PACKAGE_VERSION);
			return (SBCTL_EXIT_OK);
		case ':':
			return (sbctl_usage_error(NULL, "%s needs a value",
			    argv[optind - 1]));
		default:
			return (sbctl_usage_error(NULL, "unknown option %s",
			    argv[optind - 1]));
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return (sbctl_usage_error(NULL, "no command given"));
	for (i = 0; i < SBCTL_NCMDS; i++) {
		if (strcmp(argv[0], sbctl_cmds[i].name) == 0)
			cmd = &sbctl_cmds[i];
	}
	if (cmd == NULL)
		return (sbctl_usage_error(NULL, "unknown command \"%s\"",
		    argv[0]));
	argc--;
	argv++;
	if (argc < cmd->min || (cmd->max >= 0 && argc > cmd->max))
		return (sbctl_usage_error(cmd, "%s wants %s arguments",
		    cmd->name, argc < cmd->min ? "more" : "fewer"));
	code = cmd->exec(&ctx, cmd, argc, argv);
	sb_client_close(ctx.client);
	return (code);
}
