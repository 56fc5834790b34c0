/*
 * callback.c: the Python object an ext 7 value (a client's callback)
 * decodes to. It records the session and the client's callback id. Calling
 * it sends [0, cid, "callback", [session_id, callback_id, args, kwargs]] to
 * the daemon, which asks the client, and waits for the answer with
 * channel_wait_response, serving nested requests meanwhile. The result is
 * decoded in the session; an error answer raises
 * snakebridge.CallbackFailed naming the client's error type and message.
 */
#include "adapter.h"

#include <string.h>

struct callback {
	PyObject_HEAD
	uint64_t	 sid;
	uint64_t	 id;
};

static struct channel	*callback_channel;

void
callback_set_channel(struct channel *ch)
{
	callback_channel = ch;
}

/* Pack the request; -1 with an exception set. */
static int
callback_pack(msgpack_sbuffer *sb, struct callback *cb, uint32_t cid,
    PyObject *args, PyObject *kwargs)
{
	msgpack_packer	 pk;
	PyObject	*list;
	int		 rv;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, SB_MSG_REQUEST);
	msgpack_pack_uint32(&pk, cid);
	msgpack_pack_str_with_body(&pk, "callback", 8);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint64(&pk, cb->sid);
	msgpack_pack_uint64(&pk, cb->id);
	if ((list = PySequence_List(args)) == NULL)
		return (-1);
	rv = codec_encode(sb, list, cb->sid);
	Py_DECREF(list);
	if (rv != 0)
		return (-1);
	if (kwargs == NULL || PyDict_GET_SIZE(kwargs) == 0) {
		msgpack_pack_nil(&pk);
		return (0);
	}
	return (codec_encode(sb, kwargs, cb->sid));
}

/* A str member of the client's error map, or a default. */
static void
callback_err_field(const msgpack_object *err, const char *key, char *buf,
    size_t len, const char *dflt)
{
	const msgpack_object_kv	*kv;
	uint32_t		 i;
	size_t			 n;

	snprintf(buf, len, "%s", dflt);
	if (err->type != MSGPACK_OBJECT_MAP)
		return;
	for (i = 0; i < err->via.map.size; i++) {
		kv = &err->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR ||
		    kv->key.via.str.size != strlen(key) ||
		    memcmp(kv->key.via.str.ptr, key, strlen(key)) != 0 ||
		    kv->val.type != MSGPACK_OBJECT_STR)
			continue;
		n = kv->val.via.str.size < len - 1 ? kv->val.via.str.size :
		    len - 1;
		memcpy(buf, kv->val.via.str.ptr, n);
		buf[n] = '\0';
		return;
	}
}

/* The value of a response [1, cid, error, result], or NULL raised. */
static PyObject *
callback_result(struct callback *cb, msgpack_sbuffer *msg)
{
	msgpack_unpacked	 u;
	const msgpack_object	*f;
	PyObject		*v = NULL;
	char			 type[128], text[640];
	size_t			 off = 0;

	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, msg->data, msg->size, &off) !=
	    MSGPACK_UNPACK_SUCCESS || u.data.type != MSGPACK_OBJECT_ARRAY ||
	    u.data.via.array.size != 4) {
		pyerr_set(SB_ERRTYPE_CALLBACK_FAILED, "callback %llu: the "
		    "answer cannot be read", (unsigned long long)cb->id);
		goto out;
	}
	f = u.data.via.array.ptr;
	if (f[2].type != MSGPACK_OBJECT_NIL) {
		callback_err_field(&f[2], "type", type, sizeof type,
		    "snakebridge.CallbackFailed");
		callback_err_field(&f[2], "message", text, sizeof text, "");
		pyerr_set(SB_ERRTYPE_CALLBACK_FAILED, "callback %llu failed: "
		    "%s: %s", (unsigned long long)cb->id, type, text);
		goto out;
	}
	v = codec_decode_reply(&f[3], cb->sid);
out:
	msgpack_unpacked_destroy(&u);
	return (v);
}

static PyObject *
callback_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
	struct callback	*cb = (struct callback *)self;
	struct channel	*ch = callback_channel;
	msgpack_sbuffer	 sb, reply;
	PyObject	*v;
	uint32_t	 cid;

	if (ch == NULL)
		return (pyerr_set(SB_ERRTYPE_CALLBACK_FAILED, "callback %llu: "
		    "no channel to the client", (unsigned long long)cb->id));
	cid = channel_next_id(ch);
	msgpack_sbuffer_init(&sb);
	if (callback_pack(&sb, cb, cid, args, kwargs) != 0) {
		msgpack_sbuffer_destroy(&sb);
		return (NULL);
	}
	if (channel_send(ch, &sb) != 0) {
		msgpack_sbuffer_destroy(&sb);
		return (pyerr_set(SB_ERRTYPE_CALLBACK_FAILED, "callback %llu: "
		    "the channel closed", (unsigned long long)cb->id));
	}
	msgpack_sbuffer_destroy(&sb);
	if (channel_wait_response(ch, cid, &reply) != 0)
		return (NULL);
	v = callback_result(cb, &reply);
	msgpack_sbuffer_destroy(&reply);
	return (v);
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
