/*
 * error.c: SB_E* code descriptions and the sb_error object built from the
 * error map of a response (docs/protocol.md, "Errors").
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const error_texts[] = {
	"success",				/* SB_OK */
	"out of memory",			/* SB_ENOMEM */
	"invalid argument",			/* SB_EINVAL */
	"cannot connect to snakebridged",	/* SB_ECONNECT */
	"connection to snakebridged lost",	/* SB_ECLOSED */
	"protocol error",			/* SB_EPROTO */
	"timed out",				/* SB_ETIMEDOUT */
	"remote error",				/* SB_EREMOTE */
	"value of another type",		/* SB_ETYPE */
	"out of range",				/* SB_ERANGE */
	"not finished yet",			/* SB_EAGAIN */
	"stopped by the caller",		/* SB_ECANCELED */
};

const char *
sb_strerror(int code)
{
	if (code > 0 || (size_t)-code >= sizeof(error_texts) /
	    sizeof(error_texts[0]))
		return ("unknown error");
	return (error_texts[-code]);
}

/* Join a traceback given as a list of lines (or one str) into one string. */
static char *
error_join_traceback(const sb_value *tb)
{
	const sb_value *line;
	size_t i, len = 0, n;
	const char *s;
	char *out;

	if (sb_value_type(tb) == SB_STR)
		return (strdup(sb_value_str(tb, NULL)));
	if (sb_value_type(tb) != SB_LIST)
		return (NULL);
	for (i = 0; i < sb_value_len(tb); i++) {
		if (sb_value_str(sb_value_item(tb, i), &n) != NULL)
			len += n;
	}
	if ((out = malloc(len + 1)) == NULL)
		return (NULL);
	len = 0;
	for (i = 0; i < sb_value_len(tb); i++) {
		line = sb_value_item(tb, i);
		if (sb_value_type(line) == SB_STR &&
		    (s = sb_value_str(line, &n)) != NULL) {
			memcpy(out + len, s, n);
			len += n;
		}
	}
	out[len] = '\0';
	return (out);
}

/* The text of a str member of the map, or NULL. */
static const char *
error_member(const sb_value *map, const char *key)
{
	return (sb_value_str(sb_map_get(map, key), NULL));
}

/*
 * Build an error object from the error field of a response; takes v. A peer
 * that sent something other than a map (some msgpack-rpc servers send a
 * string) gets type "Error" with that string as message.
 */
int
error_from_value(sb_value *v, sb_error **out)
{
	sb_error *e;

	*out = NULL;
	if (sb_value_type(v) != SB_MAP) {
		*out = error_make("Error", sb_value_type(v) == SB_STR ?
		    sb_value_str(v, NULL) : "");
		sb_value_free(v);
		return (*out == NULL ? SB_ENOMEM : 0);
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		sb_value_free(v);
		return (SB_ENOMEM);
	}
	e->map = v;
	if ((e->type = error_member(v, "type")) == NULL)
		e->type = "Error";
	if ((e->message = error_member(v, "message")) == NULL)
		e->message = "";
	e->module = error_member(v, "module");
	if (sb_map_get(v, "traceback") != NULL)
		e->traceback = error_join_traceback(sb_map_get(v,
		    "traceback"));
	*out = e;
	return (0);
}

/* A locally made error object with a type and message; NULL on ENOMEM. */
sb_error *
error_make(const char *type, const char *message)
{
	sb_value *map, *k, *m;
	sb_error *e;

	if ((map = sb_map_new()) == NULL)
		return (NULL);
	k = sb_str("type");
	m = sb_str(type);
	if (sb_map_set(map, k, m) != 0) {
		sb_value_free(map);
		return (NULL);
	}
	k = sb_str("message");
	m = sb_str(message);
	if (sb_map_set(map, k, m) != 0) {
		sb_value_free(map);
		return (NULL);
	}
	return (error_from_value(map, &e) == 0 ? e : NULL);
}

sb_error *
sb_error_new(const char *type, const char *message)
{
	if (type == NULL || message == NULL)
		return (NULL);
	return (error_make(type, message));
}

const char *
sb_error_type(const sb_error *e)
{
	return (e == NULL ? "Error" : e->type);
}

const char *
sb_error_message(const sb_error *e)
{
	return (e == NULL ? "" : e->message);
}

const char *
sb_error_module(const sb_error *e)
{
	return (e == NULL ? NULL : e->module);
}

const char *
sb_error_traceback(const sb_error *e)
{
	return (e == NULL ? NULL : e->traceback);
}

const sb_value *
sb_error_details(const sb_error *e)
{
	return (e == NULL ? NULL : e->map);
}

void
sb_error_free(sb_error *e)
{
	if (e == NULL)
		return;
	sb_value_free(e->map);
	free(e->traceback);
	free(e);
}
