/*
 * callback.c: the Python object an ext 7 value (a client's callback)
 * decodes to. It records the session and the client's callback id; calling
 * it will send a `callback` request over the channel and wait for the answer
 * with channel_wait_response. Until that path exists a call raises
 * RuntimeError.
 */
#include "adapter.h"

struct callback {
	PyObject_HEAD
	uint64_t	 sid;
	uint64_t	 id;
};

static PyObject *
callback_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
	PyErr_SetString(PyExc_RuntimeError, "callbacks are not supported yet");
	return (NULL);
}

static PyObject *
callback_repr(PyObject *self)
{
	struct callback	*cb = (struct callback *)self;

	return (PyUnicode_FromFormat("<snakebridge callback %llu>",
	    (unsigned long long)cb->id));
}

static PyTypeObject callback_type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "snakebridge.Callback",
	.tp_basicsize = sizeof(struct callback),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "A function of the client, callable from Python.",
	.tp_call = callback_call,
	.tp_repr = callback_repr,
};

int
callback_init(void)
{
	return (PyType_Ready(&callback_type));
}

PyObject *
callback_new(uint64_t sid, uint64_t id)
{
	struct callback	*cb;

	cb = PyObject_New(struct callback, &callback_type);
	if (cb == NULL)
		return (NULL);
	cb->sid = sid;
	cb->id = id;
	return ((PyObject *)cb);
}
