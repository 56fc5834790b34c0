/*
 * print.c: how a command ends: the result as one line on stdout (with the
 * repr of every ref in it, fetched in one pipelined batch), or the error as
 * one JSON line on stderr, and the exit code that goes with it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sbctl.h"

/* Refs of one result whose repr is fetched; past this they go without. */
#define PRINT_REPR_MAX	1000

struct print_reprs {
	const sb_value	*refs[PRINT_REPR_MAX];
	sb_value	*texts[PRINT_REPR_MAX];
	size_t		 n;
	size_t		 next;		/* where the next lookup starts */
};

/* Print an error object {type, module, message, traceback} on one line. */
static void
print_error(const char *type, const char *module, const char *message,
    const char *traceback)
{
	sb_value	*m;
	int		 ok;

	if ((m = sb_map_new()) == NULL)
		goto fallback;
	ok = sb_map_set(m, sb_str("type"), sb_str(type)) == 0;
	if (module != NULL)
		ok = ok && sb_map_set(m, sb_str("module"), sb_str(module)) == 0;
	ok = ok && sb_map_set(m, sb_str("message"), sb_str(message)) == 0;
	ok = ok && sb_map_set(m, sb_str("traceback"),
	    traceback != NULL ? sb_str(traceback) : sb_nil()) == 0;
	if (!ok) {
		sb_value_free(m);
		goto fallback;
	}
	json_render(stderr, m, NULL, NULL);
	fputc('\n', stderr);
	sb_value_free(m);
	return;
fallback:
	fprintf(stderr, "sbctl: %s: %s\n", type, message);
}

/*
 * Report a local failure (rc is an SB_E* code other than SB_EREMOTE) and
 * return the exit code for it.
 */
int
print_local_error(int rc, const char *what)
{
	char	 msg[512];

	snprintf(msg, sizeof msg, "%s: %s", what, sb_strerror(rc));
	switch (rc) {
	case SB_ETIMEDOUT:
		print_error("snakebridge.Timeout", NULL, msg, NULL);
		return (SBCTL_EXIT_TIMEOUT);
	case SB_ECONNECT:
	case SB_ECLOSED:
		fprintf(stderr, "sbctl: %s\n", msg);
		return (SBCTL_EXIT_UNREACHABLE);
	default:
		print_error("sbctl.Error", NULL, msg, NULL);
		return (SBCTL_EXIT_ERROR);
	}
}

/* Report an error of the daemon or of Python; returns the exit code. */
int
print_remote_error(const sb_error *err)
{
	const char	*type = sb_error_type(err);

	print_error(type, sb_error_module(err), sb_error_message(err),
	    sb_error_traceback(err));
	if (strcmp(type, "snakebridge.Timeout") == 0)
		return (SBCTL_EXIT_TIMEOUT);
	return (SBCTL_EXIT_ERROR);
}

/* Collect the refs inside v, in any container, up to PRINT_REPR_MAX. */
static void
print_collect(struct print_reprs *r, const sb_value *v)
{
	size_t	 i, n = sb_value_len(v);

	switch (sb_value_type(v)) {
	case SB_REF:
		if (r->n < PRINT_REPR_MAX)
			r->refs[r->n++] = v;
		break;
	case SB_LIST:
	case SB_TUPLE:
	case SB_SET:
	case SB_FROZENSET:
		for (i = 0; i < n; i++)
			print_collect(r, sb_value_item(v, i));
		break;
	case SB_MAP:
		for (i = 0; i < n; i++) {
			print_collect(r, sb_map_key(v, i));
			print_collect(r, sb_map_value(v, i));
		}
		break;
	default:
		break;
	}
}

/*
 * Ask for the repr of every collected ref at once, then take the answers.
 * A ref whose repr fails (or cannot be asked) keeps a NULL text.
 */
static void
print_fetch(struct sbctl *ctx, struct print_reprs *r)
{
	sb_pending	*pending[PRINT_REPR_MAX];
	sb_value	*params;
	size_t		 i;

	for (i = 0; i < r->n; i++) {
		pending[i] = NULL;
		r->texts[i] = NULL;
		if ((params = sb_list_new()) == NULL ||
		    sb_list_append(params, sb_value_copy(r->refs[i])) != 0) {
			sb_value_free(params);
			continue;
		}
		if (sb_request_async(ctx->client, "repr", params,
		    &pending[i]) != 0)
			pending[i] = NULL;
		sb_value_free(params);
	}
	for (i = 0; i < r->n; i++) {
		if (pending[i] != NULL && (sb_wait(ctx->client, pending[i], -1,
		    &r->texts[i], NULL) != 0 ||
		    sb_value_type(r->texts[i]) != SB_STR)) {
			sb_value_free(r->texts[i]);
			r->texts[i] = NULL;
		}
	}
}

/*
 * The json_repr_fn: a copy of the fetched text of ref. Rendering meets the
 * refs in the order they were collected, so the search starts there.
 */
static sb_value *
print_repr(const sb_value *ref, void *arg)
{
	struct print_reprs	*r = arg;
	size_t			 i, k;

	for (i = 0; i < r->n; i++) {
		k = (r->next + i) % r->n;
		if (r->refs[k] == ref) {
			r->next = k + 1;
			return (r->texts[k] != NULL ?
			    sb_value_copy(r->texts[k]) : NULL);
		}
	}
	return (NULL);
}

/* Print a result on one line: JSON, or a bare string with --raw. */
static int
print_result(struct sbctl *ctx, const sb_value *v)
{
	struct print_reprs	*r;
	const char		*s;
	size_t			 len, i;

	if (ctx->raw && sb_value_type(v) == SB_STR) {
		s = sb_value_str(v, &len);
		fwrite(s, 1, len, stdout);
	} else if ((r = calloc(1, sizeof *r)) != NULL) {
		print_collect(r, v);
		if (r->n > 0 && ctx->client != NULL)
			print_fetch(ctx, r);
		json_render(stdout, v, print_repr, r);
		for (i = 0; i < r->n; i++)
			sb_value_free(r->texts[i]);
		free(r);
	} else
		json_render(stdout, v, NULL, NULL);
	fputc('\n', stdout);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "sbctl: write error: %s\n", strerror(errno));
		return (SBCTL_EXIT_ERROR);
	}
	return (SBCTL_EXIT_OK);
}

/* One item of a stream or an iteration on its own line; the exit code. */
int
print_item(struct sbctl *ctx, const sb_value *v)
{
	return (print_result(ctx, v));
}

/*
 * The end of every command: print the result, or report what failed.
 * Takes result and err (either may be NULL). Returns the exit code.
 */
int
print_outcome(struct sbctl *ctx, int rc, sb_value *result, sb_error *err)
{
	int	 code;

	if (rc == 0)
		code = print_result(ctx, result);
	else if (rc == SB_EREMOTE && err != NULL)
		code = print_remote_error(err);
	else
		code = print_local_error(rc, "request failed");
	sb_value_free(result);
	sb_error_free(err);
	return (code);
}
