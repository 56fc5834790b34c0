/*
 * cmd_stream.c: "sbctl stream MODULE FUNC [ARG...] [--kw NAME=VALUE...]
 * [--limit N]" and "sbctl iter REF [--limit N]": one JSON value per line,
 * printed as items arrive. stream uses the protocol's `stream` (and cancels
 * once N items came); iter takes batches with `next`.
 */
#include <stdlib.h>
#include <string.h>

#include "sbctl.h"

#define STREAM_ITER_BATCH	256

/* Where items go, and how many more may. */
struct stream_out {
	struct sbctl	*ctx;
	int64_t		 left;		/* -1: no limit */
	int		 code;		/* exit code of printing */
};

/*
 * Take "--limit N" (or "--limit=N") out of argv, before any "--". Returns
 * 0 or an exit code; *argc shrinks, *limit is -1 without the option.
 */
static int
stream_limit(const struct sbctl_cmd *cmd, int *argc, char **argv,
    int64_t *limit)
{
	const char	*word;
	int		 i, take, code;

	*limit = -1;
	for (i = 0; i < *argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--limit") == 0) {
			if (i + 1 == *argc)
				return (sbctl_usage_error(cmd, "--limit needs "
				    "a number"));
			word = argv[i + 1];
			take = 2;
		} else if (strncmp(argv[i], "--limit=", 8) == 0) {
			word = argv[i] + 8;
			take = 1;
		} else
			continue;
		if ((code = args_count(cmd, "--limit", word, 1, INT64_MAX,
		    limit)) != 0)
			return (code);
		memmove(argv + i, argv + i + take,
		    (size_t)(*argc - i - take) * sizeof *argv);
		*argc -= take;
		i--;
	}
	return (0);
}

/* Print one item; non-zero stops (limit reached or output failed). */
static int
stream_item(const sb_value *item, void *ud)
{
	struct stream_out	*o = ud;

	if ((o->code = print_item(o->ctx, item)) != SBCTL_EXIT_OK)
		return (1);
	return (o->left > 0 && --o->left == 0);
}

int
cmd_stream_exec(struct sbctl *ctx, const struct sbctl_cmd *cmd, int argc,
    char **argv)
{
	struct stream_out	 o = { ctx, -1, SBCTL_EXIT_OK };
	sb_value		*args, *kwargs;
	sb_error		*err = NULL;
	int			 code, rc;

	if ((code = stream_limit(cmd, &argc, argv, &o.left)) != 0)
		return (code);
	if (argc < 2)
		return (sbctl_usage_error(cmd, "MODULE and FUNC are needed"));
	if ((code = args_call(cmd, argc - 2, argv + 2, &args, &kwargs)) != 0)
		return (code);
	if ((code = sbctl_connect(ctx, cmd)) == 0) {
		rc = sb_stream(ctx->client, argv[0], argv[1], args, kwargs,
		    NULL, stream_item, &o, NULL, &err);
		if (rc == 0 || rc == SB_ECANCELED)
			code = o.code;
		else
			code = print_outcome(ctx, rc, NULL, err);
	}
	sb_value_free(args);
	sb_value_free(kwargs);
	return (code);
}

/* Print the items of it in batches until done or the limit. */
static int
stream_iterate(struct stream_out *o, const sb_value *it)
{
	sb_value	*items = NULL;
	sb_error	*err = NULL;
	size_t		 i, want;
	int		 done = 0, rc;

	while (!done && o->left != 0) {
		want = o->left > 0 && o->left < STREAM_ITER_BATCH ?
		    (size_t)o->left : STREAM_ITER_BATCH;
		rc = sb_iter_next_batch(o->ctx->client, it, want, NULL, &items,
		    &done, &err);
		if (rc != 0)
			return (print_outcome(o->ctx, rc, NULL, err));
		for (i = 0; i < sb_value_len(items); i++) {
			if (stream_item(sb_value_item(items, i), o) != 0)
				break;
		}
		sb_value_free(items);
		if (o->code != SBCTL_EXIT_OK)
			break;
	}
	return (o->code);
}

int
cmd_iter_exec(struct sbctl *ctx, const struct sbctl_cmd *cmd, int argc,
    char **argv)
{
	struct stream_out	 o = { ctx, -1, SBCTL_EXIT_OK };
	sb_value		*ref, *it = NULL;
	sb_error		*err = NULL;
	int			 code, rc;

	if ((code = stream_limit(cmd, &argc, argv, &o.left)) != 0)
		return (code);
	if (argc != 1)
		return (sbctl_usage_error(cmd, "one REF is needed"));
	if ((code = args_ref(cmd, argv[0], &ref)) != 0)
		return (code);
	if ((code = sbctl_connect(ctx, cmd)) == 0) {
		rc = sb_iter(ctx->client, ref, NULL, &it, &err);
		if (rc != 0)
			code = print_outcome(ctx, rc, NULL, err);
		else {
			code = stream_iterate(&o, it);
			/* the iterator was made for this run only */
			sb_release(ctx->client, it, NULL, NULL);
			sb_value_free(it);
		}
	}
	sb_value_free(ref);
	return (code);
}
