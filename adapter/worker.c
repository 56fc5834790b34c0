/*
 * worker.c: main() of snakebridge-worker. Reads argv (docs/internals.md,
 * "The worker channel"), starts Python, preloads modules (not subject to
 * the module policy: the operator chose them), announces itself
 * with the "ready" notification and serves its channel until the daemon
 * closes it.
 *
 * Exit status: 0 when the channel closed, 1 when Python could not start,
 * 2 for bad arguments, 3 when the channel carried a broken stream.
 */
#include "adapter.h"
#include "alloc.h"

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	OPT_FD = 1, OPT_POOL, OPT_POOL_ID, OPT_SLOT, OPT_GENERATION,
	OPT_PATH, OPT_PRELOAD, OPT_MAX_REFS, OPT_MAX_MESSAGE, OPT_ALLOW_MODULE,
	OPT_DENY_MODULE, OPT_SHM_FD
};

static const struct option worker_options[] = {
	{ "fd", required_argument, NULL, OPT_FD },
	{ "pool", required_argument, NULL, OPT_POOL },
	{ "pool-id", required_argument, NULL, OPT_POOL_ID },
	{ "slot", required_argument, NULL, OPT_SLOT },
	{ "generation", required_argument, NULL, OPT_GENERATION },
	{ "path", required_argument, NULL, OPT_PATH },
	{ "preload", required_argument, NULL, OPT_PRELOAD },
	{ "max-refs", required_argument, NULL, OPT_MAX_REFS },
	{ "max-message", required_argument, NULL, OPT_MAX_MESSAGE },
	{ "allow-module", required_argument, NULL, OPT_ALLOW_MODULE },
	{ "deny-module", required_argument, NULL, OPT_DENY_MODULE },
	{ "shm-fd", required_argument, NULL, OPT_SHM_FD },
	{ NULL, 0, NULL, 0 }
};

static __attribute__((noreturn)) void
worker_usage(const char *why)
{
	fprintf(stderr, "snakebridge-worker: %s\n"
	    "usage: snakebridge-worker --fd N --pool NAME --pool-id N "
	    "--slot N --generation N\n"
	    "       [--path DIR]... [--preload MODULE]... [--max-refs N] "
	    "[--max-message BYTES]\n"
	    "       [--allow-module MODULE]... [--deny-module MODULE]... "
	    "[--shm-fd N]\n",
	    why);
	exit(2);
}

static unsigned long long
worker_number(const char *s, unsigned long long max)
{
	char			*end;
	unsigned long long	 v;

	v = strtoull(s, &end, 10);
	if (*s == '\0' || *s == '-' || *end != '\0' || v > max)
		worker_usage("bad number");
	return (v);
}

/* Append s to the argv strings *v (n of them); exits without memory. */
static void
worker_push(const char ***v, size_t *n, const char *s)
{
	const char	**nv;

	if ((nv = reallocarray(*v, *n + 1, sizeof *nv)) == NULL)
		worker_usage("out of memory");
	nv[(*n)++] = s;
	*v = nv;
}

/* The ready notification: {pid, python, numpy[, preload_failed]}. */
static int
worker_ready(struct channel *ch, PyObject *failed)
{
	PyObject	*info, *params;
	char		 version[32];
	size_t		 n;
	int		 rv;

	n = strcspn(Py_GetVersion(), " ");
	if (n >= sizeof version)
		n = sizeof version - 1;
	memcpy(version, Py_GetVersion(), n);
	version[n] = '\0';
	info = Py_BuildValue("{s:l,s:s,s:O}", "pid", (long)getpid(),
	    "python", version, "numpy",
	    pyinit_have_numpy() ? Py_True : Py_False);
	if (info == NULL)
		return (-1);
	if (PyList_GET_SIZE(failed) > 0 &&
	    PyDict_SetItemString(info, "preload_failed", failed) != 0) {
		Py_DECREF(info);
		return (-1);
	}
	params = PyList_New(1);
	if (params == NULL) {
		Py_DECREF(info);
		return (-1);
	}
	PyList_SET_ITEM(params, 0, info);
	rv = channel_notify(ch, "ready", params);
	Py_DECREF(params);
	return (rv);
}

int
main(int argc, char **argv)
{
	struct pyinit_options	 po = { NULL, 0 };
	struct channel		*ch;
	const char		**preload = NULL;
	size_t			 npreload = 0, i;
	PyObject		*failed;
	int			 c, fd = -1, status;

	sb_alloc_tune();
	while ((c = getopt_long(argc, argv, "", worker_options, NULL)) != -1) {
		switch (c) {
		case OPT_FD:
			fd = (int)worker_number(optarg, 65535);
			break;
		case OPT_POOL:
			break;
		case OPT_POOL_ID:
			worker_id.pool_id = (uint16_t)worker_number(optarg,
			    UINT16_MAX);
			break;
		case OPT_SLOT:
			worker_id.slot = (uint16_t)worker_number(optarg,
			    UINT16_MAX);
			break;
		case OPT_GENERATION:
			worker_id.generation = (uint32_t)worker_number(optarg,
			    UINT32_MAX);
			break;
		case OPT_PATH:
			worker_push(&po.paths, &po.npaths, optarg);
			break;
		case OPT_PRELOAD:
			worker_push(&preload, &npreload, optarg);
			break;
		case OPT_MAX_REFS:
			worker_id.max_refs = worker_number(optarg, SIZE_MAX);
			break;
		case OPT_MAX_MESSAGE:
			worker_id.max_message = worker_number(optarg,
			    UINT32_MAX);
			break;
		case OPT_ALLOW_MODULE:
		case OPT_DENY_MODULE:
			if (*optarg == '\0')
				worker_usage("empty module name");
			if (policy_add(c == OPT_DENY_MODULE, optarg) != 0)
				worker_usage("out of memory");
			break;
		case OPT_SHM_FD:
			worker_id.shm_fd = (int)worker_number(optarg, 65535);
			break;
		default:
			worker_usage("unknown option");
		}
	}
	if (fd < 0 || optind != argc)
		worker_usage("--fd is required and no operands are taken");

	signal(SIGPIPE, SIG_IGN);
	if (pyinit_start(&po) != 0)
		return (1);
	if (interrupt_init() != 0 || dropsig_init() != 0) {
		perror("snakebridge-worker: sigaction");
		return (1);
	}
	if ((ch = channel_open(fd, worker_id.max_message)) == NULL) {
		perror("snakebridge-worker: channel");
		return (1);
	}
	/* Like the channel, the block channel stays out of exec'd children. */
	if (worker_id.shm_fd >= 0 &&
	    fcntl(worker_id.shm_fd, F_SETFD, FD_CLOEXEC) == -1) {
		perror("snakebridge-worker: block channel");
		return (1);
	}
	callback_set_channel(ch);
	if ((failed = PyList_New(0)) == NULL)
		return (1);
	for (i = 0; i < npreload; i++)
		pyinit_preload(preload[i], failed);
	if (worker_ready(ch, failed) != 0) {
		PyErr_Print();
		return (1);
	}
	Py_DECREF(failed);
	status = channel_loop();
	pyinit_stop();
	free(po.paths);
	free(preload);
	return (status);
}
