/*
 * cache.c: modules and callables found by name, cached after first use, so a
 * repeated `call math sqrt` costs one hash lookup: no import, no attribute
 * lookup. Keys are the raw UTF-8 names from the request; a table that grows
 * past CACHE_MAX entries is emptied and refilled on demand. Every lookup by
 * module name goes through here, so the module policy (policy.c) is applied
 * here: to a module name before it is imported, and to every module met on
 * an attribute path. Only what passed is cached, and the policy never
 * changes in a worker's life, so a cache hit needs no check.
 */
#include "adapter.h"

#include <string.h>

#define CACHE_MAX	4096

struct cache_entry {
	char		*key;		/* "module\0name" */
	size_t		 klen;
	uint64_t	 hash;
	PyObject	*obj;
};

struct cache_table {
	struct cache_entry	*slots;
	size_t			 cap;	/* power of two */
	size_t			 used;
};

static struct cache_table	cache_modules, cache_callables;

#define CACHE_K		0x9e3779b97f4a7c15ull

/*
 * Mix n bytes at s into h, a word at a time: the last word, and a short
 * string's bytes, are read as overlapping pieces.
 */
static inline uint64_t
cache_mix(uint64_t h, const char *s, size_t n)
{
	uint64_t	 w;
	uint32_t	 lo, hi;

	for (; n > 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * CACHE_K;
		h ^= h >> 32;
	}
	if (n >= 4) {
		memcpy(&hi, s, 4);
		memcpy(&lo, s + n - 4, 4);
		w = (uint64_t)hi << 32 | lo;
	} else if (n > 0)
		w = (uint64_t)(uint8_t)s[0] << 16 |
		    (uint64_t)(uint8_t)s[n / 2] << 8 | (uint8_t)s[n - 1];
	else
		w = 0;
	h = (h ^ w ^ n) * CACHE_K;
	return (h ^ (h >> 32));
}

static uint64_t
cache_hash(const char *a, size_t alen, const char *b, size_t blen)
{
	return (cache_mix(cache_mix(CACHE_K, a, alen), b, blen));
}

/* The n bytes at x and y are the same; short ones compared inline. */
static inline int
cache_same(const char *x, const char *y, size_t n)
{
	uint64_t	 x1, y1, x2, y2;
	uint32_t	 u1, v1, u2, v2;

	if (n > 16)
		return (memcmp(x, y, n) == 0);
	if (n >= 8) {
		memcpy(&x1, x, 8);
		memcpy(&y1, y, 8);
		memcpy(&x2, x + n - 8, 8);
		memcpy(&y2, y + n - 8, 8);
		return (x1 == y1 && x2 == y2);
	}
	if (n >= 4) {
		memcpy(&u1, x, 4);
		memcpy(&v1, y, 4);
		memcpy(&u2, x + n - 4, 4);
		memcpy(&v2, y + n - 4, 4);
		return (u1 == v1 && u2 == v2);
	}
	for (; n > 0; n--) {
		if (*x++ != *y++)
			return (0);
	}
	return (1);
}

/* The slot for a key: its entry, or the empty slot where it would go. */
static inline struct cache_entry *
cache_slot(struct cache_table *t, uint64_t h, const char *a, size_t alen,
    const char *b, size_t blen)
{
	struct cache_entry	*e;
	size_t			 i = (size_t)h & (t->cap - 1);

	for (;; i = (i + 1) & (t->cap - 1)) {
		e = &t->slots[i];
		if (e->key == NULL)
			return (e);
		if (e->hash == h && e->klen == alen + 1 + blen &&
		    cache_same(e->key, a, alen) && e->key[alen] == '\0' &&
		    cache_same(e->key + alen + 1, b, blen))
			return (e);
	}
}

static void
cache_empty(struct cache_table *t)
{
	struct cache_entry	*slots = t->slots;
	size_t			 i, cap = t->cap;

	/* Detach first: releasing objects may run Python code. */
	t->slots = NULL;
	t->cap = t->used = 0;
	for (i = 0; i < cap; i++) {
		if (slots[i].key != NULL) {
			free(slots[i].key);
			Py_DECREF(slots[i].obj);
		}
	}
	free(slots);
}

static PyObject *
cache_get(struct cache_table *t, const char *a, size_t alen, const char *b,
    size_t blen)
{
	struct cache_entry	*e;

	if (t->cap == 0)
		return (NULL);
	e = cache_slot(t, cache_hash(a, alen, b, blen), a, alen, b, blen);
	if (e->key == NULL)
		return (NULL);
	Py_INCREF(e->obj);
	return (e->obj);
}

/* Grow (or start) the table; the entries move over as they are. */
static int
cache_grow(struct cache_table *t)
{
	struct cache_table	 n;
	struct cache_entry	*e;
	size_t			 i;

	n.cap = t->cap ? 2 * t->cap : 64;
	n.used = t->used;
	if ((n.slots = calloc(n.cap, sizeof *n.slots)) == NULL)
		return (-1);
	for (i = 0; i < t->cap; i++) {
		if (t->slots[i].key == NULL)
			continue;
		for (e = &n.slots[t->slots[i].hash & (n.cap - 1)];
		    e->key != NULL;
		    e = &n.slots[((size_t)(e - n.slots) + 1) & (n.cap - 1)])
			;
		*e = t->slots[i];
	}
	free(t->slots);
	*t = n;
	return (0);
}

/* Remember obj under the key; failing to is not an error. */
static void
cache_put(struct cache_table *t, const char *a, size_t alen, const char *b,
    size_t blen, PyObject *obj)
{
	struct cache_entry	*e;
	uint64_t		 h = cache_hash(a, alen, b, blen);
	char			*key;

	if (t->used >= CACHE_MAX)
		cache_empty(t);
	if ((t->used + 1) * 2 > t->cap && cache_grow(t) != 0)
		return;
	e = cache_slot(t, h, a, alen, b, blen);
	if (e->key != NULL)
		return;
	if ((key = malloc(alen + 1 + blen)) == NULL)
		return;
	memcpy(key, a, alen);
	key[alen] = '\0';
	memcpy(key + alen + 1, b, blen);
	e->key = key;
	e->klen = alen + 1 + blen;
	e->hash = h;
	Py_INCREF(obj);
	e->obj = obj;
	t->used++;
}

static int
cache_check_name(const char *what, const char *s, size_t len)
{
	if (len == 0 || memchr(s, '\0', len) != NULL) {
		pyerr_set(SB_ERRTYPE_BAD_REQUEST, "%s name must be a "
		    "non-empty str without NUL", what);
		return (-1);
	}
	return (0);
}

/* The module of that name, imported on first use (new reference). */
PyObject *
cache_module(const char *name, size_t len)
{
	PyObject	*mod, *nameobj;

	if ((mod = cache_get(&cache_modules, name, len, "", 0)) != NULL)
		return (mod);
	if (cache_check_name("module", name, len) != 0)
		return (NULL);
	if (policy_active && policy_check_name(name, len) != 0)
		return (NULL);
	nameobj = PyUnicode_DecodeUTF8(name, (Py_ssize_t)len, "strict");
	if (nameobj == NULL)
		return (NULL);
	mod = PyImport_Import(nameobj);
	Py_DECREF(nameobj);
	if (mod != NULL)
		cache_put(&cache_modules, name, len, "", 0, mod);
	return (mod);
}

/*
 * obj.a.b.c for the dotted path "a.b.c" (new reference). Every module met
 * on the way, the value found included, must pass the module policy.
 */
PyObject *
cache_getattr_path(PyObject *obj, const char *path, size_t len)
{
	const char	*dot, *end = path + len;
	PyObject	*cur, *next, *name;

	if (cache_check_name("attribute", path, len) != 0)
		return (NULL);
	Py_INCREF(obj);
	cur = obj;
	while (cur != NULL) {
		dot = memchr(path, '.', (size_t)(end - path));
		if (dot == NULL)
			dot = end;
		name = PyUnicode_DecodeUTF8(path, dot - path, "strict");
		next = name ? PyObject_GetAttr(cur, name) : NULL;
		Py_XDECREF(name);
		if (next != NULL && policy_check(next) != 0)
			Py_CLEAR(next);
		Py_DECREF(cur);
		cur = next;
		if (dot == end)
			break;
		path = dot + 1;
	}
	return (cur);
}

/* module.name, a callable, cached after the first lookup (new reference). */
PyObject *
cache_callable(const char *mod, size_t mlen, const char *name, size_t nlen)
{
	PyObject	*m, *f;

	f = cache_get(&cache_callables, mod, mlen, name, nlen);
	if (f != NULL)
		return (f);
	if ((m = cache_module(mod, mlen)) == NULL)
		return (NULL);
	f = cache_getattr_path(m, name, nlen);
	Py_DECREF(m);
	if (f != NULL && PyCallable_Check(f))
		cache_put(&cache_callables, mod, mlen, name, nlen, f);
	return (f);
}

void
cache_clear(void)
{
	cache_empty(&cache_callables);
	cache_empty(&cache_modules);
}
