/*
 * policy.c: the module policy, which modules requests may name and reach
 * through module attributes and refs (the pool's allow_modules and
 * deny_modules, given as --allow-module and --deny-module). A name covers
 * the module and its submodules; deny wins over allow; an empty allow list
 * allows every module not denied. The lists are fixed for the worker's life.
 * They are not a sandbox: code in an allowed module may import anything.
 */
#include "adapter.h"

#include <string.h>

struct policy_name {
	const char	*s;		/* an argv string, not owned */
	size_t		 len;
};

struct policy_list {
	struct policy_name	*v;
	size_t			 n;
};

int				policy_active;
static struct policy_list	policy_allow, policy_deny;

/* Add a name to the deny (deny != 0) or allow list; -1 without memory. */
int
policy_add(int deny, const char *name)
{
	struct policy_list	*l = deny ? &policy_deny : &policy_allow;
	struct policy_name	*v;

	if ((v = reallocarray(l->v, l->n + 1, sizeof *v)) == NULL)
		return (-1);
	v[l->n].s = name;
	v[l->n++].len = strlen(name);
	l->v = v;
	policy_active = 1;
	return (0);
}

/* Whether a name of l is the module (len bytes) or one of its parents. */
static int
policy_covers(const struct policy_list *l, const char *mod, size_t len)
{
	size_t	 i, n;

	for (i = 0; i < l->n; i++) {
		n = l->v[i].len;
		if (n <= len && memcmp(l->v[i].s, mod, n) == 0 &&
		    (n == len || mod[n] == '.'))
			return (1);
	}
	return (0);
}

/* 0 if requests may use module mod; else -1 with ModuleNotAllowed set. */
int
policy_check_name(const char *mod, size_t len)
{
	int	 shown = len > 200 ? 200 : (int)len;

	if (policy_covers(&policy_deny, mod, len)) {
		pyerr_set(SB_ERRTYPE_MODULE_NOT_ALLOWED, "module %.*s is "
		    "denied by this pool's deny_modules", shown, mod);
		return (-1);
	}
	if (policy_allow.n > 0 && !policy_covers(&policy_allow, mod, len)) {
		pyerr_set(SB_ERRTYPE_MODULE_NOT_ALLOWED, "module %.*s is not "
		    "in this pool's allow_modules", shown, mod);
		return (-1);
	}
	return (0);
}

/*
 * The slow half of policy_check (adapter.h): obj is a module and a list is
 * set; check the module's __name__. A module without a str name is refused.
 */
int
policy_check_module(PyObject *obj)
{
	PyObject	*name;
	const char	*s = NULL;
	Py_ssize_t	 len;
	int		 rv;

	if ((name = PyModule_GetNameObject(obj)) != NULL)
		s = PyUnicode_AsUTF8AndSize(name, &len);
	if (s == NULL) {
		Py_XDECREF(name);
		PyErr_Clear();
		pyerr_set(SB_ERRTYPE_MODULE_NOT_ALLOWED, "a module without a "
		    "str __name__ is not allowed where module lists are set");
		return (-1);
	}
	rv = policy_check_name(s, (size_t)len);
	Py_DECREF(name);
	return (rv);
}
