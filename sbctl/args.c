/*
 * args.c: command-line words to protocol values. A word that parses as JSON
 * is that value, "@TOKEN" is a ref, anything else is a string. Call-style
 * commands also take "--kw NAME=VALUE" keyword arguments. Every failure is
 * reported as a usage error (exit code 2).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sbctl.h"

static int
args_nomem(void)
{
	fputs("sbctl: out of memory\n", stderr);
	return (SBCTL_EXIT_ERROR);
}

static int
args_token(const struct sbctl_cmd *cmd, const char *token, sb_value **out)
{
	if (json_parse_token(token, out) != 0)
		return (sbctl_usage_error(cmd, "\"%s\" is not a ref token",
		    token));
	return (0);
}

/* One ARG or VALUE word as a value (*out to free). 0 or an exit code. */
int
args_value(const struct sbctl_cmd *cmd, const char *word, sb_value **out)
{
	const char	*err;

	if (word[0] == '@')
		return (args_token(cmd, word + 1, out));
	switch (json_parse(word, out, &err)) {
	case 0:
		return (0);
	case -1:
		return (sbctl_usage_error(cmd, "%s: %s", word, err));
	}
	if ((*out = sb_str(word)) == NULL)
		return (args_nomem());
	return (0);
}

/*
 * A REF word: "@TOKEN", a bare TOKEN, or a printed ref ({"$ref": ...}).
 * 0 or an exit code.
 */
int
args_ref(const struct sbctl_cmd *cmd, const char *word, sb_value **out)
{
	int	 rc;

	if (word[0] != '{')
		return (args_token(cmd, word + (word[0] == '@'), out));
	if ((rc = args_value(cmd, word, out)) != 0)
		return (rc);
	if (sb_value_type(*out) != SB_REF) {
		sb_value_free(*out);
		*out = NULL;
		return (sbctl_usage_error(cmd, "%s is not a ref", word));
	}
	return (0);
}

/* Add one "NAME=VALUE" to the kwargs map (created on first use). */
static int
args_kw(const struct sbctl_cmd *cmd, const char *word, sb_value **kwargs)
{
	const char	*eq = strchr(word, '=');
	sb_value	*k, *v;
	int		 rc;

	if (eq == NULL || eq == word)
		return (sbctl_usage_error(cmd, "--kw wants NAME=VALUE, not "
		    "\"%s\"", word));
	if (*kwargs == NULL && (*kwargs = sb_map_new()) == NULL)
		return (args_nomem());
	if ((rc = args_value(cmd, eq + 1, &v)) != 0)
		return (rc);
	if ((k = sb_strn(word, (size_t)(eq - word))) == NULL) {
		sb_value_free(v);
		return (args_nomem());
	}
	if (sb_map_set(*kwargs, k, v) != 0)
		return (args_nomem());
	return (0);
}

/*
 * Positional ARGs into a new list (*args) and --kw NAME=VALUE (or
 * --kw=NAME=VALUE) into a map (*kwargs, NULL when there is none). After
 * "--" every word is positional. On failure both are freed and NULL.
 */
int
args_call(const struct sbctl_cmd *cmd, int argc, char **argv, sb_value **args,
    sb_value **kwargs)
{
	sb_value	*v;
	int		 i, rc = 0, options = 1;

	*kwargs = NULL;
	if ((*args = sb_list_new()) == NULL)
		return (args_nomem());
	for (i = 0; i < argc && rc == 0; i++) {
		if (options && strcmp(argv[i], "--") == 0)
			options = 0;
		else if (options && strcmp(argv[i], "--kw") == 0) {
			if (i + 1 == argc)
				rc = sbctl_usage_error(cmd, "--kw needs "
				    "NAME=VALUE");
			else
				rc = args_kw(cmd, argv[++i], kwargs);
		} else if (options && strncmp(argv[i], "--kw=", 5) == 0)
			rc = args_kw(cmd, argv[i] + 5, kwargs);
		else if ((rc = args_value(cmd, argv[i], &v)) == 0 &&
		    sb_list_append(*args, v) != 0)
			rc = args_nomem();
	}
	if (rc != 0) {
		sb_value_free(*args);
		sb_value_free(*kwargs);
		*args = *kwargs = NULL;
	}
	return (rc);
}

/* A whole number word for `what` in [min, max]; 0 or an exit code. */
int
args_count(const struct sbctl_cmd *cmd, const char *what, const char *word,
    int64_t min, int64_t max, int64_t *out)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(word, &end, 10);
	if (*word == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		return (sbctl_usage_error(cmd, "%s wants a whole number from "
		    "%lld to %lld, not \"%s\"", what, (long long)min,
		    (long long)max, word));
	*out = v;
	return (0);
}
