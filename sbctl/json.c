/*
 * json.c: sbctl's JSON mapping of protocol values, both ways. Rendering
 * writes JSON text itself (so floats print the shortest text that reads back
 * to the same float, always with a '.' or an exponent); parsing goes through
 * jansson. Values JSON has no type for are objects with one "$" key, listed
 * in json_specials and described in sbctl(1); refs are objects with "$ref".
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ndarray.h"
#include "sbctl.h"

struct json_out {
	FILE		*f;
	json_repr_fn	 repr;
	void		*arg;
};

/* Keys that make a one-key object a special value; "$ref" is first. */
static const char *json_specials[] = {
	"$ref", "$bytes", "$tuple", "$set", "$frozenset", "$int", "$float",
	"$complex", "$ndarray", "$date", "$datetime", "$decimal", "$timestamp",
	"$map", "$callback", "$ext"
};
#define JSON_NSPECIALS (sizeof json_specials / sizeof json_specials[0])

static void	json_out_value(struct json_out *, const sb_value *);

/*
 * Whether key makes an object of n entries a special value: "$ref" always
 * does (a printed ref also has "type" and "repr"), the others when alone.
 */
static int
json_special_key(const char *key, size_t n)
{
	size_t	 i;

	if (key[0] != '$')
		return (0);
	if (strcmp(key, "$ref") == 0)
		return (1);
	if (n != 1)
		return (0);
	for (i = 1; i < JSON_NSPECIALS; i++) {
		if (strcmp(key, json_specials[i]) == 0)
			return (1);
	}
	return (0);
}

/* A JSON string literal of len bytes; UTF-8 passes through. */
static void
json_out_string(struct json_out *o, const char *s, size_t len)
{
	size_t		 i;
	unsigned char	 c;

	fputc('"', o->f);
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		switch (c) {
		case '"':
			fputs("\\\"", o->f);
			break;
		case '\\':
			fputs("\\\\", o->f);
			break;
		case '\n':
			fputs("\\n", o->f);
			break;
		case '\r':
			fputs("\\r", o->f);
			break;
		case '\t':
			fputs("\\t", o->f);
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(o->f, "\\u%04x", c);
			else
				fputc(c, o->f);
		}
	}
	fputc('"', o->f);
}

static void
json_out_cstring(struct json_out *o, const char *s)
{
	json_out_string(o, s, strlen(s));
}

/* Opens a special object: {"$name": */
static void
json_out_special(struct json_out *o, const char *name)
{
	fprintf(o->f, "{\"%s\": ", name);
}

/*
 * The shortest decimal text that reads back as d (as a float when single is
 * set), laid out as Python's repr does: fixed notation for exponents -4 to
 * 15 with at least one decimal, scientific notation otherwise.
 */
static void
json_out_float(struct json_out *o, double d, int single)
{
	char	 buf[64];
	int	 prec, exp, decimals;
	char	*e;
	double	 back;

	if (isnan(d) || isinf(d)) {
		json_out_special(o, "$float");
		json_out_cstring(o, isnan(d) ? "nan" : d < 0 ? "-inf" : "inf");
		fputc('}', o->f);
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
		back = strtod(buf, NULL);
		if (single ? (float)back == (float)d : back == d)
			break;
	}
	snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
	e = strchr(buf, 'e');
	exp = e != NULL ? atoi(e + 1) : 0;
	if (exp < -4 || exp >= 16) {
		fputs(buf, o->f);
		return;
	}
	decimals = prec - 1 - exp;
	if (decimals < 1)
		decimals = 1;
	fprintf(o->f, "%.*f", decimals, d);
}

/* Items of a list, tuple or set as a JSON array. */
static void
json_out_items(struct json_out *o, const sb_value *v)
{
	size_t	 i, n = sb_value_len(v);

	fputc('[', o->f);
	for (i = 0; i < n; i++) {
		if (i > 0)
			fputs(", ", o->f);
		json_out_value(o, sb_value_item(v, i));
	}
	fputc(']', o->f);
}

static void
json_out_map(struct json_out *o, const sb_value *v)
{
	size_t		 i, n = sb_value_len(v);
	const sb_value	*k;
	const char	*s;
	size_t		 len;
	int		 plain = 1;

	for (i = 0; i < n && plain; i++) {
		k = sb_map_key(v, i);
		s = sb_value_str(k, &len);
		if (sb_value_type(k) != SB_STR ||
		    memchr(s, '\0', len) != NULL || json_special_key(s, n))
			plain = 0;
	}
	if (plain) {
		fputc('{', o->f);
		for (i = 0; i < n; i++) {
			if (i > 0)
				fputs(", ", o->f);
			s = sb_value_str(sb_map_key(v, i), &len);
			json_out_string(o, s, len);
			fputs(": ", o->f);
			json_out_value(o, sb_map_value(v, i));
		}
		fputc('}', o->f);
		return;
	}
	json_out_special(o, "$map");
	fputc('[', o->f);
	for (i = 0; i < n; i++) {
		if (i > 0)
			fputs(", ", o->f);
		fputc('[', o->f);
		json_out_value(o, sb_map_key(v, i));
		fputs(", ", o->f);
		json_out_value(o, sb_map_value(v, i));
		fputc(']', o->f);
	}
	fputs("]}", o->f);
}

/* Bytes as base64 text (standard alphabet, padded). */
static void
json_out_base64(struct json_out *o, const void *data, size_t len)
{
	char	*b = b64_encode(data, len, 0);

	if (b == NULL) {
		fputs("null", o->f);
		return;
	}
	json_out_cstring(o, b);
	free(b);
}

static void
json_out_ref(struct json_out *o, const sb_value *v)
{
	char		*token = json_ref_token(v);
	const char	*type = sb_ref_type(v), *s;
	sb_value	*repr;
	size_t		 len;

	json_out_special(o, "$ref");
	if (token != NULL)
		json_out_cstring(o, token);
	else
		fputs("null", o->f);
	free(token);
	fputs(", \"type\": ", o->f);
	if (type != NULL)
		json_out_cstring(o, type);
	else
		fputs("null", o->f);
	if (o->repr != NULL && (repr = o->repr(v, o->arg)) != NULL) {
		if ((s = sb_value_str(repr, &len)) != NULL) {
			fputs(", \"repr\": ", o->f);
			json_out_string(o, s, len);
		}
		sb_value_free(repr);
	}
	fputc('}', o->f);
}

/* Elements of a decodable array, flat in C order. */
static void
json_out_elements(struct json_out *o, const struct nd_dtype *dt,
    const uint8_t *data, size_t count)
{
	union nd_elem	 e;
	size_t		 i;

	fputc('[', o->f);
	for (i = 0; i < count; i++) {
		if (i > 0)
			fputs(", ", o->f);
		nd_load(dt, data + i * dt->size, &e);
		switch (dt->kind) {
		case 'b':
			fputs(e.b ? "true" : "false", o->f);
			break;
		case 'i':
			fprintf(o->f, "%" PRId64, e.i);
			break;
		case 'u':
			fprintf(o->f, "%" PRIu64, e.u);
			break;
		case 'f':
			json_out_float(o, e.f, dt->size == 4);
			break;
		}
	}
	fputc(']', o->f);
}

static void
json_out_ndarray(struct json_out *o, const sb_value *v)
{
	const char	*dtype;
	const int64_t	*shape;
	const void	*data;
	size_t		 ndim, len, i, count = 1;
	struct nd_dtype	 dt;
	int		 decode;

	if (sb_value_get_ndarray(v, &dtype, &shape, &ndim, &data, &len) != 0) {
		fputs("null", o->f);
		return;
	}
	json_out_special(o, "$ndarray");
	fputs("{\"dtype\": ", o->f);
	json_out_cstring(o, dtype);
	fputs(", \"shape\": [", o->f);
	for (i = 0; i < ndim; i++) {
		fprintf(o->f, "%s%" PRId64, i > 0 ? ", " : "", shape[i]);
		count *= shape[i] > 0 ? (size_t)shape[i] : 0;
	}
	fputs("], ", o->f);
	decode = nd_dtype_parse(dtype, &dt) == 0 && count * dt.size == len;
	if (decode) {
		fputs("\"data\": ", o->f);
		json_out_elements(o, &dt, data, count);
	} else {
		fputs("\"base64\": ", o->f);
		json_out_base64(o, data, len);
	}
	fputs("}}", o->f);
}

/* An aware datetime as ISO 8601 UTC with as many fraction digits as needed. */
static void
json_out_timestamp(struct json_out *o, const sb_value *v)
{
	int64_t		 sec;
	uint32_t	 nsec;
	time_t		 t;
	struct tm	 tm;
	char		 buf[64], frac[16];
	int		 n;

	if (sb_value_get_timestamp(v, &sec, &nsec) != 0 ||
	    (t = (time_t)sec, gmtime_r(&t, &tm) == NULL)) {
		fputs("null", o->f);
		return;
	}
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	frac[0] = '\0';
	if (nsec != 0) {
		snprintf(frac, sizeof frac, ".%09" PRIu32, nsec);
		for (n = (int)strlen(frac); frac[n - 1] == '0'; n--)
			frac[n - 1] = '\0';
	}
	json_out_special(o, "$timestamp");
	fprintf(o->f, "\"%s%sZ\"}", buf, frac);
}

/* A value whose text sb_value_str gives, as {"$name": "text"}. */
static void
json_out_text(struct json_out *o, const char *name, const sb_value *v)
{
	const char	*s;
	size_t		 len;

	json_out_special(o, name);
	if ((s = sb_value_str(v, &len)) != NULL)
		json_out_string(o, s, len);
	else
		fputs("null", o->f);
	fputc('}', o->f);
}

static void
json_out_value(struct json_out *o, const sb_value *v)
{
	int		 b;
	int64_t		 i;
	uint64_t	 u;
	double		 d, im;
	const char	*s;
	const void	*p;
	size_t		 len;
	int8_t		 ext;

	switch (sb_value_type(v)) {
	case SB_NIL:
		fputs("null", o->f);
		break;
	case SB_BOOL:
		sb_value_get_bool(v, &b);
		fputs(b ? "true" : "false", o->f);
		break;
	case SB_INT:
		if (sb_value_get_int(v, &i) == 0)
			fprintf(o->f, "%" PRId64, i);
		else if (sb_value_get_uint(v, &u) == 0)
			fprintf(o->f, "%" PRIu64, u);
		else
			fputs("null", o->f);
		break;
	case SB_BIGINT:
		json_out_text(o, "$int", v);
		break;
	case SB_FLOAT:
		sb_value_get_float(v, &d);
		json_out_float(o, d, 0);
		break;
	case SB_STR:
		s = sb_value_str(v, &len);
		json_out_string(o, s, len);
		break;
	case SB_BYTES:
		p = sb_value_bytes(v, &len);
		json_out_special(o, "$bytes");
		json_out_base64(o, p, len);
		fputc('}', o->f);
		break;
	case SB_LIST:
		json_out_items(o, v);
		break;
	case SB_TUPLE:
	case SB_SET:
	case SB_FROZENSET:
		json_out_special(o, sb_value_type(v) == SB_TUPLE ? "$tuple" :
		    sb_value_type(v) == SB_SET ? "$set" : "$frozenset");
		json_out_items(o, v);
		fputc('}', o->f);
		break;
	case SB_MAP:
		json_out_map(o, v);
		break;
	case SB_COMPLEX:
		sb_value_get_complex(v, &d, &im);
		json_out_special(o, "$complex");
		fputc('[', o->f);
		json_out_float(o, d, 0);
		fputs(", ", o->f);
		json_out_float(o, im, 0);
		fputs("]}", o->f);
		break;
	case SB_REF:
		json_out_ref(o, v);
		break;
	case SB_CALLBACK:
		json_out_special(o, "$callback");
		if (sb_value_get_uint(v, &u) == 0)
			fprintf(o->f, "%" PRIu64 "}", u);
		else
			fputs("null}", o->f);
		break;
	case SB_NDARRAY:
		json_out_ndarray(o, v);
		break;
	case SB_DATE:
		json_out_text(o, "$date", v);
		break;
	case SB_DATETIME:
		json_out_text(o, "$datetime", v);
		break;
	case SB_DECIMAL:
		json_out_text(o, "$decimal", v);
		break;
	case SB_TIMESTAMP:
		json_out_timestamp(o, v);
		break;
	case SB_EXT:
	default:
		if (sb_value_get_ext(v, &ext, &p, &len) != 0) {
			fputs("null", o->f);
			break;
		}
		json_out_special(o, "$ext");
		fprintf(o->f, "[%d, ", (int)ext);
		json_out_base64(o, p, len);
		fputs("]}", o->f);
		break;
	}
}

/*
 * Write v as one line of JSON (no newline). repr, when not NULL, is asked
 * for the text of each ref met. Returns 0, or -1 if the stream failed.
 */
int
json_render(FILE *f, const sb_value *v, json_repr_fn repr, void *arg)
{
	struct json_out	 o = { f, repr, arg };

	json_out_value(&o, v);
	return (ferror(f) ? -1 : 0);
}

/* The printable token of a ref: its payload in unpadded base64url. */
char *
json_ref_token(const sb_value *ref)
{
	const void	*p;
	size_t		 len;

	if ((p = sb_value_bytes(ref, &len)) == NULL)
		return (NULL);
	return (b64_encode(p, len, 1));
}

/* A ref from its token; 0, or -1 when the token is not one. */
int
json_parse_token(const char *token, sb_value **out)
{
	void	*buf;
	size_t	 len;

	if (*token == '\0' || b64_decode(token, strlen(token), 1, &buf,
	    &len) != 0)
		return (-1);
	*out = sb_ref_from_bytes(buf, len);
	free(buf);
	return (*out == NULL ? -1 : 0);
}

/*
 * An integer in JSON syntax, of any size: int64, else uint64, else a big
 * int. NULL when s is not such a number (or on ENOMEM).
 */
static sb_value *
json_in_integer(const char *s)
{
	const char	*p = s;
	long long	 ll;
	unsigned long long ull;

	if (*p == '-')
		p++;
	if (!isdigit((unsigned char)*p) || (p[0] == '0' && p[1] != '\0'))
		return (NULL);
	while (isdigit((unsigned char)*p))
		p++;
	if (*p != '\0')
		return (NULL);
	errno = 0;
	ll = strtoll(s, NULL, 10);
	if (errno == 0)
		return (sb_int(ll));
	if (*s != '-') {
		errno = 0;
		ull = strtoull(s, NULL, 10);
		if (errno == 0)
			return (sb_uint(ull));
	}
	return (sb_bigint(s));
}

static sb_value	*json_in_value(json_t *, const char **);

/* The x of {"$float": x}: a number, or "nan", "inf", "-inf". */
static int
json_in_float_text(json_t *x, double *d)
{
	const char	*t;

	if (json_is_number(x)) {
		*d = json_number_value(x);
		return (0);
	}
	if ((t = json_string_value(x)) == NULL)
		return (-1);
	if (*t == '+')
		t++;
	if (strcasecmp(t, "nan") == 0)
		*d = NAN;
	else if (strcasecmp(t, "inf") == 0 || strcasecmp(t, "infinity") == 0)
		*d = INFINITY;
	else if (strcasecmp(t, "-inf") == 0 || strcasecmp(t, "-infinity") == 0)
		*d = -INFINITY;
	else
		return (-1);
	return (0);
}

/* A JSON number, or a {"$float": "nan"} style special, as a double. */
static int
json_in_double(json_t *j, double *d)
{
	json_t	*x;

	if (json_is_number(j)) {
		*d = json_number_value(j);
		return (0);
	}
	if (!json_is_object(j) || json_object_size(j) != 1 ||
	    (x = json_object_get(j, "$float")) == NULL)
		return (-1);
	return (json_in_float_text(x, d));
}

/* Fill a new list, tuple or set from a JSON array. */
static sb_value *
json_in_items(sb_value *seq, json_t *a, const char **err)
{
	size_t	 i;
	json_t	*item;
	sb_value *v;

	if (seq == NULL) {
		*err = "out of memory";
		return (NULL);
	}
	json_array_foreach(a, i, item) {
		if ((v = json_in_value(item, err)) == NULL ||
		    sb_list_append(seq, v) != 0) {
			if (v != NULL)
				*err = "out of memory";
			sb_value_free(seq);
			return (NULL);
		}
	}
	return (seq);
}

/* {"$map": [[key, value], ...]} */
static sb_value *
json_in_pairs(json_t *a, const char **err)
{
	sb_value	*map, *k, *v;
	json_t		*pair;
	size_t		 i;

	if ((map = sb_map_new()) == NULL) {
		*err = "out of memory";
		return (NULL);
	}
	json_array_foreach(a, i, pair) {
		if (!json_is_array(pair) || json_array_size(pair) != 2) {
			*err = "$map wants a list of [key, value] pairs";
			goto fail;
		}
		if ((k = json_in_value(json_array_get(pair, 0), err)) == NULL)
			goto fail;
		if ((v = json_in_value(json_array_get(pair, 1), err)) == NULL) {
			sb_value_free(k);
			goto fail;
		}
		if (sb_map_set(map, k, v) != 0) {
			*err = "out of memory";
			goto fail;
		}
	}
	return (map);
fail:
	sb_value_free(map);
	return (NULL);
}

/* Store one JSON element into an ndarray buffer at p. */
static int
json_in_element(const struct nd_dtype *dt, json_t *j, uint8_t *p)
{
	union nd_elem	 e;
	int		 neg = 0;

	switch (dt->kind) {
	case 'b':
		if (json_is_boolean(j))
			e.b = json_is_true(j);
		else if (json_is_integer(j) && (json_integer_value(j) == 0 ||
		    json_integer_value(j) == 1))
			e.b = (int)json_integer_value(j);
		else
			return (-1);
		break;
	case 'i':
	case 'u':
		if (!json_is_integer(j))
			return (-1);
		e.i = json_integer_value(j);
		neg = e.i < 0;
		if (!nd_fits(dt, &e, neg))
			return (-1);
		break;
	case 'f':
		if (json_in_double(j, &e.f) != 0)
			return (-1);
		break;
	}
	nd_store(dt, p, &e);
	return (0);
}

/*
 * {"$ndarray": {"dtype": D, "shape": [...], "data": [flat values]}} or with
 * "base64" instead of "data" (any dtype). Without "shape" the array is flat.
 */
static sb_value *
json_in_ndarray(json_t *j, const char **err)
{
	const char	*dtype, *b64;
	json_t		*shape, *data, *item;
	int64_t		 dims[32];
	size_t		 ndim = 0, count = 1, len, i;
	struct nd_dtype	 dt;
	void		*buf = NULL;
	sb_value	*v;

	*err = "bad $ndarray (wants dtype, shape and data or base64)";
	if (!json_is_object(j) ||
	    (dtype = json_string_value(json_object_get(j, "dtype"))) == NULL)
		return (NULL);
	shape = json_object_get(j, "shape");
	data = json_object_get(j, "data");
	b64 = json_string_value(json_object_get(j, "base64"));
	if ((data == NULL) == (b64 == NULL) ||
	    (data != NULL && !json_is_array(data)))
		return (NULL);
	if (shape != NULL) {
		if (!json_is_array(shape) ||
		    json_array_size(shape) > sizeof dims / sizeof dims[0])
			return (NULL);
		json_array_foreach(shape, i, item) {
			if (!json_is_integer(item) ||
			    json_integer_value(item) < 0)
				return (NULL);
			dims[ndim++] = json_integer_value(item);
			if (dims[i] != 0 && count > SIZE_MAX / (size_t)dims[i])
				return (NULL);
			count *= (size_t)dims[i];
		}
	}
	if (b64 != NULL) {
		if (b64_decode(b64, strlen(b64), 0, &buf, &len) != 0)
			return (NULL);
		if (shape == NULL) {
			if (nd_dtype_parse(dtype, &dt) != 0) {
				*err = "$ndarray with base64 needs a shape";
				free(buf);
				return (NULL);
			}
			dims[ndim++] = (int64_t)(len / dt.size);
		}
	} else {
		if (nd_dtype_parse(dtype, &dt) != 0) {
			*err = "$ndarray data needs a bool, int, uint or float "
			    "dtype (use base64 for others)";
			return (NULL);
		}
		if (shape == NULL) {
			count = json_array_size(data);
			dims[ndim++] = (int64_t)count;
		}
		if (count != json_array_size(data)) {
			*err = "$ndarray data does not match its shape";
			return (NULL);
		}
		len = count * dt.size;
		if ((buf = malloc(len + 1)) == NULL) {
			*err = "out of memory";
			return (NULL);
		}
		json_array_foreach(data, i, item) {
			if (json_in_element(&dt, item, (uint8_t *)buf +
			    i * dt.size) != 0) {
				*err = "$ndarray element does not fit its "
				    "dtype";
				free(buf);
				return (NULL);
			}
		}
	}
	v = sb_ndarray(dtype, dims, ndim, buf, len);
	free(buf);
	if (v == NULL)
		*err = "bad $ndarray";
	return (v);
}

/* "YYYY-MM-DDTHH:MM:SS[.fraction][Z|+HH:MM|-HH:MM]" as a timestamp. */
static sb_value *
json_in_timestamp(const char *s)
{
	struct tm	 tm;
	int		 n = 0, oh = 0, om = 0, digits = 0;
	uint32_t	 nsec = 0;
	int64_t		 sec;
	const char	*p;

	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &n) != 6 || n == 0)
		return (NULL);
	p = s + n;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++) {
			if (digits++ < 9)
				nsec = nsec * 10 + (uint32_t)(*p - '0');
		}
		if (digits == 0)
			return (NULL);
		for (; digits < 9; digits++)
			nsec *= 10;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2)
			return (NULL);
		if (*p == '-') {
			oh = -oh;
			om = -om;
		}
		p += 1 + n;
	}
	if (*p != '\0')
		return (NULL);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	sec = (int64_t)timegm(&tm) - (oh * 3600 + om * 60);
	return (sb_timestamp(sec, nsec));
}

/* {"$ext": [type code, base64 payload]}: an ext type sbctl does not know. */
static sb_value *
json_in_ext(json_t *x, const char **err)
{
	json_t		*code;
	const char	*b64;
	void		*buf;
	size_t		 len;
	sb_value	*v;

	*err = "$ext wants [type code, base64 payload]";
	if (!json_is_array(x) || json_array_size(x) != 2 ||
	    !json_is_integer(code = json_array_get(x, 0)) ||
	    json_integer_value(code) < -128 || json_integer_value(code) > 127 ||
	    (b64 = json_string_value(json_array_get(x, 1))) == NULL ||
	    b64_decode(b64, strlen(b64), 0, &buf, &len) != 0)
		return (NULL);
	*err = NULL;
	v = sb_ext((int8_t)json_integer_value(code), buf, len);
	free(buf);
	return (v);
}

/* The value of a special object {"$name": x} (or a printed ref). */
static sb_value *
json_in_special(const char *name, json_t *x, const char **err)
{
	const char	*s = json_string_value(x);
	sb_value	*v = NULL;
	void		*buf;
	size_t		 len;
	double		 re, im;

	if (strcmp(name, "$ref") == 0) {
		if (s == NULL || json_parse_token(s, &v) != 0)
			*err = "bad $ref token";
	} else if (strcmp(name, "$bytes") == 0) {
		if (s == NULL || b64_decode(s, strlen(s), 0, &buf, &len) != 0)
			*err = "$bytes wants base64 text";
		else {
			v = sb_bytes(buf, len);
			free(buf);
		}
	} else if (strcmp(name, "$tuple") == 0 || strcmp(name, "$set") == 0 ||
	    strcmp(name, "$frozenset") == 0) {
		if (!json_is_array(x)) {
			*err = "$tuple, $set and $frozenset want a list";
			return (NULL);
		}
		v = name[1] == 't' ? sb_tuple_new() : name[1] == 's' ?
		    sb_set_new() : sb_frozenset_new();
		return (json_in_items(v, x, err));
	} else if (strcmp(name, "$int") == 0) {
		if (json_is_integer(x))
			v = sb_int(json_integer_value(x));
		else if (s == NULL || (v = json_in_integer(s)) == NULL)
			*err = "$int wants decimal digits";
	} else if (strcmp(name, "$float") == 0) {
		if (json_in_float_text(x, &re) != 0)
			*err = "$float wants nan, inf, -inf or a number";
		else
			v = sb_float(re);
	} else if (strcmp(name, "$complex") == 0) {
		if (!json_is_array(x) || json_array_size(x) != 2 ||
		    json_in_double(json_array_get(x, 0), &re) != 0 ||
		    json_in_double(json_array_get(x, 1), &im) != 0)
			*err = "$complex wants [real, imag]";
		else
			v = sb_complex(re, im);
	} else if (strcmp(name, "$ndarray") == 0)
		return (json_in_ndarray(x, err));
	else if (strcmp(name, "$date") == 0 || strcmp(name, "$datetime") == 0 ||
	    strcmp(name, "$decimal") == 0) {
		if (s == NULL || (v = name[2] == 'e' ? sb_decimal(s) :
		    name[5] == '\0' ? sb_date(s) : sb_datetime(s)) == NULL)
			*err = "$date wants YYYY-MM-DD, $datetime "
			    "YYYY-MM-DDTHH:MM:SS[.ffffff], $decimal a number";
	} else if (strcmp(name, "$timestamp") == 0) {
		if (s == NULL || (v = json_in_timestamp(s)) == NULL)
			*err = "$timestamp wants YYYY-MM-DDTHH:MM:SS[.f][Z]";
	} else if (strcmp(name, "$map") == 0) {
		if (!json_is_array(x)) {
			*err = "$map wants a list of [key, value] pairs";
			return (NULL);
		}
		return (json_in_pairs(x, err));
	} else if (strcmp(name, "$ext") == 0) {
		v = json_in_ext(x, err);
		if (v == NULL && *err == NULL)
			*err = "out of memory";
		return (v);
	} else
		*err = "$callback values cannot be passed";
	if (v == NULL && *err == NULL)
		*err = "out of memory";
	return (v);
}

static sb_value *
json_in_object(json_t *j, const char **err)
{
	const char	*key;
	json_t		*item;
	sb_value	*map, *k, *v;
	size_t		 n = json_object_size(j);

	if ((item = json_object_get(j, "$ref")) != NULL)
		return (json_in_special("$ref", item, err));
	json_object_foreach(j, key, item) {
		if (json_special_key(key, n))
			return (json_in_special(key, item, err));
	}
	if ((map = sb_map_new()) == NULL) {
		*err = "out of memory";
		return (NULL);
	}
	json_object_foreach(j, key, item) {
		if ((v = json_in_value(item, err)) == NULL) {
			sb_value_free(map);
			return (NULL);
		}
		if ((k = sb_str(key)) == NULL || sb_map_set(map, k, v) != 0) {
			if (k == NULL)
				sb_value_free(v);
			*err = "out of memory";
			sb_value_free(map);
			return (NULL);
		}
	}
	return (map);
}

static sb_value *
json_in_value(json_t *j, const char **err)
{
	sb_value	*v = NULL;

	*err = NULL;
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return (json_in_object(j, err));
	case JSON_ARRAY:
		return (json_in_items(sb_list_new(), j, err));
	case JSON_STRING:
		v = sb_strn(json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		v = sb_int(json_integer_value(j));
		break;
	case JSON_REAL:
		v = sb_float(json_real_value(j));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		v = sb_bool(json_is_true(j));
		break;
	case JSON_NULL:
		v = sb_nil();
		break;
	}
	if (v == NULL)
		*err = "out of memory";
	return (v);
}

/*
 * Parse text as JSON (any value at the top; integers of any size). Returns
 * 0 with *out set; 1 when text is not JSON; -1 when it is JSON but not a
 * valid value (a malformed special object), with *err saying why.
 */
int
json_parse(const char *text, sb_value **out, const char **err)
{
	json_t		*j;
	json_error_t	 jerr;

	*err = NULL;
	if ((*out = json_in_integer(text)) != NULL)
		return (0);
	j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (j == NULL)
		return (1);
	*out = json_in_value(j, err);
	json_decref(j);
	return (*out == NULL ? -1 : 0);
}
