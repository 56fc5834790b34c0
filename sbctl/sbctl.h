/*
 * sbctl.h: what the files of sbctl share: the run context, the command table
 * entry, exit codes, and the helpers of args.c, json.c and base64.c.
 */
#ifndef SBCTL_H
#define SBCTL_H

#include <stdint.h>
#include <stdio.h>

#include "sbclient.h"

/* Exit codes, documented in sbctl(1). */
#define SBCTL_EXIT_OK		0
#define SBCTL_EXIT_ERROR	1	/* Python or daemon exception */
#define SBCTL_EXIT_USAGE	2
#define SBCTL_EXIT_UNREACHABLE	3
#define SBCTL_EXIT_TIMEOUT	4

/* One invocation: global options and, once connected, the client. */
struct sbctl {
	const char	*socket;	/* -s, or NULL for the default */
	const char	*session;	/* --session */
	const char	*pool;		/* --pool */
	const char	*profile;	/* --profile */
	int64_t		 timeout;	/* --timeout, -1 when not given */
	int		 raw;		/* --raw */
	sb_client	*client;
};

struct sbctl_cmd;
typedef int (*sbctl_exec_fn)(struct sbctl *, const struct sbctl_cmd *, int,
    char **);

/* Command table entry: argc excludes the command name; max -1 = no limit. */
struct sbctl_cmd {
	const char	*name;
	const char	*usage;
	int		 min;
	int		 max;
	int		 flags;
/* No implicit session.open for --session: the command handles sessions. */
#define SBCTL_CMD_OWNSESSION 0x1
	sbctl_exec_fn	 exec;
	const void	*data;		/* for a function shared by entries */
};

/* sbctl.c */
int	 sbctl_usage_error(const struct sbctl_cmd *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 sbctl_connect(struct sbctl *, const struct sbctl_cmd *);

/* print.c: results to stdout, errors to stderr; each returns exit code. */
int	 print_outcome(struct sbctl *, int, sb_value *, sb_error *);
int	 print_item(struct sbctl *, const sb_value *);
int	 print_local_error(int, const char *);
int	 print_remote_error(const sb_error *);

/* One-ref requests (repr, str, len, dir, iter) share one signature. */
typedef int (*sbctl_ref_fn)(sb_client *, const sb_value *,
    const struct sb_opts *, sb_value **, sb_error **);

/* cmd_*.c */
int	 cmd_call_exec(struct sbctl *, const struct sbctl_cmd *, int, char **);
int	 cmd_get_exec(struct sbctl *, const struct sbctl_cmd *, int, char **);
int	 cmd_method_exec(struct sbctl *, const struct sbctl_cmd *, int,
	    char **);
int	 cmd_attr_exec(struct sbctl *, const struct sbctl_cmd *, int, char **);
int	 cmd_setattr_exec(struct sbctl *, const struct sbctl_cmd *, int,
	    char **);
int	 cmd_ref_exec(struct sbctl *, const struct sbctl_cmd *, int, char **);
int	 cmd_getitem_exec(struct sbctl *, const struct sbctl_cmd *, int,
	    char **);
int	 cmd_next_exec(struct sbctl *, const struct sbctl_cmd *, int, char **);
int	 cmd_stream_exec(struct sbctl *, const struct sbctl_cmd *, int,
	    char **);
int	 cmd_iter_exec(struct sbctl *, const struct sbctl_cmd *, int, char **);
int	 cmd_release_exec(struct sbctl *, const struct sbctl_cmd *, int,
	    char **);
int	 cmd_ping_exec(struct sbctl *, const struct sbctl_cmd *, int, char **);
int	 cmd_status_exec(struct sbctl *, const struct sbctl_cmd *, int,
	    char **);
int	 cmd_session_exec(struct sbctl *, const struct sbctl_cmd *, int,
	    char **);
int	 cmd_admin_exec(struct sbctl *, const struct sbctl_cmd *, int, char **);
int	 cmd_stats_exec(struct sbctl *, const struct sbctl_cmd *, int,
	    char **);
int	 cmd_events_exec(struct sbctl *, const struct sbctl_cmd *, int,
	    char **);

/* fields.c: reading status and stats maps for display. */
double	 fields_num(const sb_value *, const char *, double);
const char *fields_str(const sb_value *, const char *, const char *);
const char *fields_duration(double, char *, size_t);
const char *fields_size(double, char *, size_t);
int	 cmd_session_settings(struct sbctl *, const struct sbctl_cmd *, int,
	    char **, sb_value **);

/* args.c: command-line words to values. Errors print and return exit 2. */
int	 args_value(const struct sbctl_cmd *, const char *, sb_value **);
int	 args_ref(const struct sbctl_cmd *, const char *, sb_value **);
int	 args_call(const struct sbctl_cmd *, int, char **, sb_value **,
	    sb_value **);
int	 args_count(const struct sbctl_cmd *, const char *, const char *,
	    int64_t, int64_t, int64_t *);

/* json.c: values to JSON text and back. */
/* Fetches the repr of a ref for display: a str value to free, or NULL. */
typedef sb_value *(*json_repr_fn)(const sb_value *, void *);
int	 json_render(FILE *, const sb_value *, json_repr_fn, void *);
int	 json_parse(const char *, sb_value **, const char **);
int	 json_parse_token(const char *, sb_value **);
char	*json_ref_token(const sb_value *);

/* base64.c: RFC 4648 base64 (url = 0) and base64url (url = 1). */
char	*b64_encode(const void *, size_t, int);
int	 b64_decode(const char *, size_t, int, void **, size_t *);

#endif
