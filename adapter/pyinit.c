/*
 * pyinit.c: starting and stopping the embedded Python. The interpreter is
 * the one the worker was built against (SB_PYTHON_BIN from configure), so
 * its prefix and site directories (Debian's dist-packages) are found, and
 * nothing in the caller's environment (PYTHONHOME, PYTHONPATH, a pyenv on
 * PATH) changes which Python runs. Python keeps its SIGINT handler, so an
 * interrupt raises KeyboardInterrupt in running code.
 */
#include "adapter.h"

#include <stdio.h>
#include <string.h>

#include "config.h"

/* Line-buffer sys.stdout and sys.stderr so prints reach the log at once. */
static void
pyinit_line_buffering(void)
{
	static const char *const names[] = { "stdout", "stderr" };
	PyObject	*f, *meth, *args, *kw, *r;
	size_t		 i;

	for (i = 0; i < 2; i++) {
		f = PySys_GetObject(names[i]);
		if (f == NULL || f == Py_None)
			continue;
		meth = PyObject_GetAttrString(f, "reconfigure");
		args = PyTuple_New(0);
		kw = Py_BuildValue("{s:O}", "line_buffering", Py_True);
		r = meth && args && kw ? PyObject_Call(meth, args, kw) : NULL;
		Py_XDECREF(r);
		Py_XDECREF(kw);
		Py_XDECREF(args);
		Py_XDECREF(meth);
		PyErr_Clear();
	}
}

/* Append directories to sys.path. */
static int
pyinit_paths(const char **paths, size_t n)
{
	PyObject	*sys_path = PySys_GetObject("path"), *p;
	size_t		 i;

	if (sys_path == NULL || !PyList_Check(sys_path))
		return (-1);
	for (i = 0; i < n; i++) {
		if ((p = PyUnicode_DecodeFSDefault(paths[i])) == NULL)
			return (-1);
		if (PyList_Append(sys_path, p) != 0) {
			Py_DECREF(p);
			return (-1);
		}
		Py_DECREF(p);
	}
	return (0);
}

int
pyinit_start(const struct pyinit_options *o)
{
	PyConfig	 config;
	PyStatus	 st;
	char		*argv[] = { "snakebridge-worker", NULL };

	PyConfig_InitPythonConfig(&config);
	config.use_environment = 0;
	config.parse_argv = 0;
	config.install_signal_handlers = 1;
	st = PyConfig_SetBytesString(&config, &config.program_name,
	    SB_PYTHON_BIN);
	if (!PyStatus_Exception(st))
		st = PyConfig_SetBytesArgv(&config, 1, argv);
	if (!PyStatus_Exception(st))
		st = Py_InitializeFromConfig(&config);
	PyConfig_Clear(&config);
	if (PyStatus_Exception(st)) {
		fprintf(stderr, "snakebridge-worker: python: %s\n",
		    st.err_msg ? st.err_msg : "initialisation failed");
		return (-1);
	}
	pyinit_line_buffering();
	if (pyerr_init() != 0 || callback_init() != 0 ||
	    msgbuf_init() != 0 || shm_init() != 0 ||
	    (o != NULL && pyinit_paths(o->paths, o->npaths) != 0)) {
		PyErr_Print();
		return (-1);
	}
	return (0);
}

/* Import a module named to be preloaded; a failure is logged and listed. */
int
pyinit_preload(const char *name, PyObject *failed)
{
	PyObject	*m, *s;

	m = cache_module(name, strlen(name));
	if (m != NULL) {
		Py_DECREF(m);
		return (0);
	}
	fprintf(stderr, "snakebridge-worker: cannot preload %s:\n", name);
	PyErr_Print();
	if ((s = PyUnicode_FromString(name)) != NULL) {
		PyList_Append(failed, s);
		Py_DECREF(s);
	}
	PyErr_Clear();
	return (-1);
}

/* Whether numpy can be imported, found without importing it. */
int
pyinit_have_numpy(void)
{
	PyObject	*util, *spec;
	int		 found = 0;

	util = PyImport_ImportModule("importlib.util");
	if (util == NULL) {
		PyErr_Clear();
		return (0);
	}
	spec = PyObject_CallMethod(util, "find_spec", "s", "numpy");
	found = spec != NULL && spec != Py_None;
	Py_XDECREF(spec);
	Py_DECREF(util);
	PyErr_Clear();
	return (found);
}

/* Release every ref (finalizers run) and stop Python. */
void
pyinit_stop(void)
{
	refs_clear();
	shm_clear();
	cache_clear();
	if (Py_FinalizeEx() != 0)
		fprintf(stderr, "snakebridge-worker: python did not exit "
		    "cleanly\n");
}
