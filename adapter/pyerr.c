/*
 * pyerr.c: errors as the worker reports them. snakebridge's own error types
 * (snakebridge.RefNotFound, ...) are Python exception classes, so they travel
 * through Python frames like any exception (a failing callback raises inside
 * the Python code that called it). pyerr_pack turns the pending exception
 * into the error map of docs/protocol.md ("Errors").
 */
#include "adapter.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static PyObject	*pyerr_base;
static PyObject	*pyerr_classes[SB_ERRTYPE_COUNT];
static PyObject	*pyerr_format;	/* traceback.format_exception */

int
pyerr_init(void)
{
	int	 t;

	if (pyerr_base != NULL)
		return (0);
	pyerr_base = PyErr_NewException("snakebridge.Error", NULL, NULL);
	if (pyerr_base == NULL)
		return (-1);
	for (t = 0; t < SB_ERRTYPE_COUNT; t++) {
		pyerr_classes[t] = PyErr_NewException(sb_errtype_name(t),
		    pyerr_base, NULL);
		if (pyerr_classes[t] == NULL)
			return (-1);
	}
	return (0);
}

PyObject *
pyerr_set(enum sb_errtype t, const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	PyErr_SetString(pyerr_classes[t], msg);
	return (NULL);
}

/* Raise snakebridge.LimitExceeded with details {limit, value}. */
PyObject *
pyerr_set_limit(const char *limit, long long value)
{
	PyObject	*cls = pyerr_classes[SB_ERRTYPE_LIMIT_EXCEEDED];
	PyObject	*exc, *details;
	char		 msg[256];

	snprintf(msg, sizeof msg, "limit %s (%lld) reached", limit, value);
	exc = PyObject_CallFunction(cls, "s", msg);
	if (exc == NULL)
		return (NULL);
	details = Py_BuildValue("{s:s,s:L}", "limit", limit, "value", value);
	if (details == NULL || PyObject_SetAttrString(exc, "details",
	    details) != 0) {
		Py_XDECREF(details);
		Py_DECREF(exc);
		return (NULL);
	}
	Py_DECREF(details);
	PyErr_SetObject(cls, exc);
	Py_DECREF(exc);
	return (NULL);
}

int
pyerr_is_sb(PyObject *exc)
{
	return (pyerr_base != NULL && PyObject_TypeCheck(exc,
	    (PyTypeObject *)pyerr_base));
}

/* str(obj) as text, or a fixed fallback when str() itself fails. */
static PyObject *
pyerr_text(PyObject *obj)
{
	PyObject	*s;

	s = PyObject_Str(obj);
	if (s == NULL) {
		PyErr_Clear();
		s = PyUnicode_FromString("<unprintable>");
	}
	return (s);
}

/*
 * Replace a pending exception that is not one of ours by snakebridge error t
 * whose message names the original ("prefix: ValueError: text").
 */
PyObject *
pyerr_rewrap(enum sb_errtype t, const char *prefix)
{
	PyObject	*type, *value, *tb, *text;
	const char	*s;

	PyErr_Fetch(&type, &value, &tb);
	if (type == NULL)
		return (pyerr_set(t, "%s", prefix));
	PyErr_NormalizeException(&type, &value, &tb);
	if (value != NULL && pyerr_is_sb(value)) {
		PyErr_Restore(type, value, tb);
		return (NULL);
	}
	text = pyerr_text(value);
	s = text != NULL ? PyUnicode_AsUTF8(text) : NULL;
	if (s == NULL) {
		PyErr_Clear();
		s = "";
	}
	pyerr_set(t, "%s: %s: %s", prefix, ((PyTypeObject *)type)->tp_name,
	    s);
	Py_XDECREF(text);
	Py_XDECREF(type);
	Py_XDECREF(value);
	Py_XDECREF(tb);
	return (NULL);
}

/* Pack a str object (lone surrogates escaped) or a C string. */
static void
pyerr_pack_str(msgpack_packer *pk, PyObject *s, const char *fallback)
{
	PyObject	*b = NULL;
	const char	*p = fallback;
	size_t		 len = strlen(fallback);

	if (s != NULL && PyUnicode_Check(s)) {
		b = PyUnicode_AsEncodedString(s, "utf-8", "backslashreplace");
		if (b != NULL) {
			p = PyBytes_AS_STRING(b);
			len = (size_t)PyBytes_GET_SIZE(b);
		} else
			PyErr_Clear();
	}
	msgpack_pack_str_with_body(pk, p, len);
	Py_XDECREF(b);
}

/* Pack a value with the codec, or nil when it cannot be encoded. */
static void
pyerr_pack_value(msgpack_packer *pk, PyObject *v, uint64_t sid)
{
	if (v == NULL || codec_encode(pk->data, v, sid) != 0) {
		PyErr_Clear();
		msgpack_pack_nil(pk);
	}
}

static void
pyerr_pack_key(msgpack_packer *pk, const char *key)
{
	msgpack_pack_str_with_body(pk, key, strlen(key));
}

/* The formatted traceback lines of exception value, or NULL. */
static PyObject *
pyerr_traceback(PyObject *value)
{
	PyObject	*mod, *lines;

	if (pyerr_format == NULL) {
		mod = PyImport_ImportModule("traceback");
		if (mod == NULL)
			return (NULL);
		pyerr_format = PyObject_GetAttrString(mod, "format_exception");
		Py_DECREF(mod);
		if (pyerr_format == NULL)
			return (NULL);
	}
	lines = PyObject_CallOneArg(pyerr_format, value);
	if (lines != NULL && !PyList_Check(lines))
		Py_CLEAR(lines);
	return (lines);
}

/* Pack one of our own errors: {type, message, details?}. */
static void
pyerr_pack_own(msgpack_packer *pk, PyObject *value, uint64_t sid)
{
	PyObject	*details, *text;
	enum sb_errtype	 t = SB_ERRTYPE_INTERNAL;
	int		 i;

	for (i = 0; i < SB_ERRTYPE_COUNT; i++) {
		if (PyObject_TypeCheck(value,
		    (PyTypeObject *)pyerr_classes[i])) {
			t = i;
			break;
		}
	}
	details = PyObject_GetAttrString(value, "details");
	if (details == NULL)
		PyErr_Clear();
	else if (!PyDict_Check(details))
		Py_CLEAR(details);
	msgpack_pack_map(pk, details != NULL ? 3 : 2);
	pyerr_pack_key(pk, "type");
	pyerr_pack_key(pk, sb_errtype_name(t));
	pyerr_pack_key(pk, "message");
	text = pyerr_text(value);
	pyerr_pack_str(pk, text, "");
	Py_XDECREF(text);
	if (details != NULL) {
		pyerr_pack_key(pk, "details");
		pyerr_pack_value(pk, details, sid);
		Py_DECREF(details);
	}
}

/* Pack a Python exception: {type, module, message, args, traceback}. */
static void
pyerr_pack_python(msgpack_packer *pk, PyObject *type, PyObject *value,
    uint64_t sid)
{
	PyObject	*o;

	msgpack_pack_map(pk, 5);
	pyerr_pack_key(pk, "type");
	o = PyObject_GetAttrString(type, "__name__");
	pyerr_pack_str(pk, o, ((PyTypeObject *)type)->tp_name);
	Py_XDECREF(o);
	pyerr_pack_key(pk, "module");
	o = PyObject_GetAttrString(type, "__module__");
	pyerr_pack_str(pk, o, "builtins");
	Py_XDECREF(o);
	pyerr_pack_key(pk, "message");
	o = pyerr_text(value);
	pyerr_pack_str(pk, o, "");
	Py_XDECREF(o);
	pyerr_pack_key(pk, "args");
	o = PyObject_GetAttrString(value, "args");
	pyerr_pack_value(pk, o, sid);
	Py_XDECREF(o);
	pyerr_pack_key(pk, "traceback");
	o = pyerr_traceback(value);
	pyerr_pack_value(pk, o, sid);
	Py_XDECREF(o);
	PyErr_Clear();
}

/*
 * Pack the pending exception as an error map and clear it. Values inside it
 * that need refs are made in session sid.
 */
void
pyerr_pack(msgpack_packer *pk, uint64_t sid)
{
	PyObject	*type, *value, *tb;

	PyErr_Fetch(&type, &value, &tb);
	if (type == NULL) {
		sb_pack_error(pk, SB_ERRTYPE_INTERNAL,
		    "failed without an exception");
		return;
	}
	PyErr_NormalizeException(&type, &value, &tb);
	if (value == NULL) {
		sb_pack_error(pk, SB_ERRTYPE_INTERNAL, "exception lost");
	} else {
		if (tb != NULL)
			PyException_SetTraceback(value, tb);
		if (pyerr_is_sb(value))
			pyerr_pack_own(pk, value, sid);
		else
			pyerr_pack_python(pk, type, value, sid);
	}
	Py_XDECREF(type);
	Py_XDECREF(value);
	Py_XDECREF(tb);
	PyErr_Clear();
}
