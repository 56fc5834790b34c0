/*
 * msgbuf.c: the memory of a large received message as a Python object with
 * the buffer protocol, so that numpy arrays decoded from the message use its
 * bytes where they were read instead of a copy (codec_decode.c). The object
 * owns the memory and frees it when the last array over it goes away.
 */
#include "adapter.h"

struct msgbuf {
	PyObject_HEAD
	char		*mem;	/* malloc'd, ours */
	char		*p;	/* what is exported: len bytes in mem */
	Py_ssize_t	 len;
};

static int
msgbuf_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
	struct msgbuf	*b = (struct msgbuf *)self;

	return (PyBuffer_FillInfo(view, self, b->p, b->len, 0, flags));
}

static void
msgbuf_dealloc(PyObject *self)
{
	free(((struct msgbuf *)self)->mem);
	PyObject_Free(self);
}

static PyBufferProcs msgbuf_as_buffer = {
	.bf_getbuffer = msgbuf_getbuffer,
};

static PyTypeObject msgbuf_type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "snakebridge.MessageBuffer",
	.tp_basicsize = sizeof(struct msgbuf),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "The memory of a received message.",
	.tp_dealloc = msgbuf_dealloc,
	.tp_as_buffer = &msgbuf_as_buffer,
};

int
msgbuf_init(void)
{
	return (PyType_Ready(&msgbuf_type));
}

/*
 * A writable buffer over len bytes at p inside mem, which it takes (freed
 * with the object). NULL with an exception set on failure (mem is then
 * still the caller's).
 */
PyObject *
msgbuf_new(char *mem, char *p, size_t len)
{
	struct msgbuf	*b;

	if (len > PY_SSIZE_T_MAX)
		return (PyErr_NoMemory());
	if ((b = PyObject_New(struct msgbuf, &msgbuf_type)) == NULL)
		return (NULL);
	b->mem = mem;
	b->p = p;
	b->len = (Py_ssize_t)len;
	return ((PyObject *)b);
}
