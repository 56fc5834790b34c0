/*
 * shm.c: shared blocks (docs/protocol.md, "Shared memory"). A block is a
 * sealed memfd mapped here and attached to one connection with shm.attach;
 * ndarray values may lie in it, and those travel on that connection as ext
 * 12 (by reference). A block is counted: the caller's reference plus one per
 * value over it; the last one unmaps it. The client lists the blocks
 * attached on it, so that an ext 12 it receives finds its block, and forgets
 * them when it closes.
 */
#include <sys/mman.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "sbproto.h"
#include "shmarray.h"

struct sb_shm {
	size_t		 refs;	/* the caller's and one per value (atomic) */
	sb_client	*client; /* attached on it; NULL once detached */
	uint64_t	 id;	/* the daemon's block id */
	void		*base;
	size_t		 size;
	struct sb_shm	*next;	/* in client->shms */
};

static struct sb_shm *
shm_hold(struct sb_shm *m)
{
	__atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
	return (m);
}

/* Drop one reference; the last unmaps the block. NULL is allowed. */
void
shm_drop(struct sb_shm *m)
{
	if (m == NULL || __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	munmap(m->base, m->size);
	free(m);
}

/*
 * A new SB_NDARRAY value over nbytes of m at offset (the caller checked the
 * range and the size), holding a reference to m; NULL when memory runs out.
 */
static sb_value *
shm_value(struct sb_shm *m, size_t offset, const char *dtype,
    const int64_t *shape, size_t ndim, size_t nbytes)
{
	sb_value *v;

	if ((v = value_new(SB_NDARRAY)) == NULL)
		return (NULL);
	v->u.nd.dtype = strdup(dtype);
	v->u.nd.shape = malloc(ndim > 0 ? ndim * sizeof(*shape) : 1);
	if (v->u.nd.dtype == NULL || v->u.nd.shape == NULL) {
		sb_value_free(v);
		return (NULL);
	}
	if (ndim > 0)
		memcpy(v->u.nd.shape, shape, ndim * sizeof(*shape));
	v->u.nd.ndim = ndim;
	v->u.nd.data = (char *)m->base + offset;
	v->u.nd.len = nbytes;
	v->shm = shm_hold(m);
	return (v);
}

/* Where the data of v, an ndarray over a block, starts in the block. */
static size_t
shm_offset(const sb_value *v)
{
	return ((size_t)((const char *)v->u.nd.data -
	    (const char *)v->shm->base));
}

/* Another view of the bytes of v, an ndarray over a block (sb_value_copy). */
sb_value *
shm_copy(const sb_value *v)
{
	return (shm_value(v->shm, shm_offset(v), v->u.nd.dtype,
	    v->u.nd.shape, v->u.nd.ndim, v->u.nd.len));
}

/* Unlink m from its client's list. */
static void
shm_forget(struct sb_shm *m)
{
	struct sb_shm **pp;

	for (pp = &m->client->shms; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	}
	m->next = NULL;
	m->client = NULL;
}

/* The client closes: its blocks are detached (by the daemon) and stay. */
void
shm_client_gone(sb_client *c)
{
	while (c->shms != NULL)
		shm_forget(c->shms);
}

/*
 * A sealed memfd of size bytes, mapped shared read-write, in m. Any
 * failure (no descriptor, no memory or address space for size) is
 * SB_ENOMEM: the caller's arguments were checked already.
 */
static int
shm_map(struct sb_shm *m, size_t size, int *fdp)
{
	int fd;

	if ((fd = memfd_create("snakebridge", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) < 0)
		return (SB_ENOMEM);
	if (ftruncate(fd, (off_t)size) != 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_SEAL) != 0 ||
	    (m->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0)) == MAP_FAILED) {
		close(fd);
		return (SB_ENOMEM);
	}
	m->size = size;
	*fdp = fd;
	return (0);
}

/*
 * shm.attach [size] with fd on the sendmsg that carries the message's first
 * byte: the queue is written out first, so that the message starts it.
 * The block id on 0; SB_EREMOTE with the daemon's error kept as the
 * client's last error.
 */
static int
shm_attach(sb_client *c, int fd, size_t size, uint64_t *id)
{
	const sb_value *param;
	sb_value *result = NULL, sizev;
	sb_error *err = NULL;
	sb_pending *p;
	int rc;

	if ((rc = wq_drain(c)) != 0)
		return (rc);
	value_borrow_uint(&sizev, size);
	param = &sizev;
	c->passfd = fd;
	if ((rc = pending_send(c, "shm.attach", &param, 1, NULL, 0,
	    &p)) != 0) {
		c->passfd = -1;
		return (rc);
	}
	rc = pending_finish(c, p, -1, &result, &err);
	c->passfd = -1;
	if (rc == SB_EREMOTE) {
		sb_error_free(c->last_error);
		c->last_error = err;
	} else if (rc == 0 &&
	    sb_value_get_uint(sb_map_get(result, "block"), id) != 0)
		rc = SB_EPROTO;
	sb_value_free(result);
	return (rc);
}

int
sb_shm_create(sb_client *c, size_t size, sb_shm **out)
{
	struct sb_shm *m;
	int fd, rc;

	if (out == NULL)
		return (SB_EINVAL);
	*out = NULL;
	if (c == NULL || size == 0)
		return (SB_EINVAL);
	if (size > (size_t)INT64_MAX)
		return (SB_ERANGE);
	if (c->dead || c->wdead)
		return (SB_ECLOSED);
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return (SB_ENOMEM);
	if ((rc = shm_map(m, size, &fd)) != 0) {
		free(m);
		return (rc);
	}
	rc = shm_attach(c, fd, size, &m->id);
	close(fd);	/* the daemon has its own, the mapping stays */
	if (rc != 0) {
		munmap(m->base, m->size);
		free(m);
		return (rc);
	}
	m->refs = 1;
	m->client = c;
	m->next = c->shms;
	c->shms = m;
	*out = m;
	return (0);
}

void *
sb_shm_data(sb_shm *m)
{
	return (m == NULL ? NULL : m->base);
}

size_t
sb_shm_size(const sb_shm *m)
{
	return (m == NULL ? 0 : m->size);
}

uint64_t
sb_shm_id(const sb_shm *m)
{
	return (m == NULL ? 0 : m->id);
}

/*
 * Detach m (shm.detach [block], whose answer nobody waits for: the handle
 * is abandoned, so the answer is dropped when it comes) and drop the
 * caller's reference.
 */
void
sb_shm_free(sb_shm *m)
{
	const sb_value *param;
	sb_value idv;
	sb_client *c;
	sb_pending *p;

	if (m == NULL)
		return;
	if ((c = m->client) != NULL) {
		shm_forget(m);
		value_borrow_uint(&idv, m->id);
		param = &idv;
		if (pending_send(c, "shm.detach", &param, 1, NULL, 0,
		    &p) == 0)
			sb_pending_free(c, p);
	}
	shm_drop(m);
}

sb_value *
sb_ndarray_shm(sb_shm *m, size_t offset, const char *dtype,
    const int64_t *shape, size_t ndim)
{
	size_t nbytes;

	if (m == NULL || dtype == NULL || strlen(dtype) > SB_SHM_DTYPE_MAX ||
	    ndim > SB_SHM_NDIM_MAX ||
	    value_ndarray_nbytes(dtype, shape, ndim, &nbytes) != 0 ||
	    offset > m->size || nbytes > m->size - offset)
		return (NULL);
	return (shm_value(m, offset, dtype, shape, ndim, nbytes));
}

sb_shm *
sb_value_shm(const sb_value *v, size_t *offset)
{
	if (v == NULL || v->type != SB_NDARRAY || v->shm == NULL)
		return (NULL);
	if (offset != NULL)
		*offset = shm_offset(v);
	return (v->shm);
}

/*
 * Pack v (an ndarray over a block) as ext 12 when its block is attached on
 * client; 1 when it is not (the caller packs it as ext 8, a copy).
 */
int
shm_pack(struct pbuf *pb, const sb_value *v, const sb_client *client)
{
	struct sb_shmarray a;
	msgpack_packer pk;
	size_t i;

	if (v->shm == NULL || client == NULL || v->shm->client != client)
		return (1);
	memset(&a, 0, sizeof(a));
	snprintf(a.dtype, sizeof(a.dtype), "%s", v->u.nd.dtype);
	a.ndim = v->u.nd.ndim;
	for (i = 0; i < a.ndim; i++)
		a.shape[i] = (uint64_t)v->u.nd.shape[i];
	a.block = v->shm->id;
	a.offset = shm_offset(v);
	a.nbytes = v->u.nd.len;
	pbuf_packer(pb, &pk);
	return (sb_shmarray_pack(&pk, &a) == 0 ? 0 : SB_ENOMEM);
}

/*
 * An ext 12 payload received on c: an ndarray over the block it names.
 * SB_EPROTO when it is malformed, names a block not attached on c, lies
 * past the block's end, or its size does not fit its dtype and shape.
 */
int
shm_unpack(sb_client *c, const void *payload, size_t len, sb_value **out)
{
	struct sb_shmarray a;
	struct sb_shm *m;
	int64_t shape[SB_SHM_NDIM_MAX];
	size_t i, nbytes;

	if (sb_shmarray_decode(payload, len, &a) != 0)
		return (SB_EPROTO);
	for (m = c->shms; m != NULL && m->id != a.block; m = m->next)
		;
	if (m == NULL || a.offset > m->size || a.nbytes > m->size - a.offset)
		return (SB_EPROTO);
	for (i = 0; i < a.ndim; i++) {
		if (a.shape[i] > INT64_MAX)
			return (SB_EPROTO);
		shape[i] = (int64_t)a.shape[i];
	}
	if (value_ndarray_nbytes(a.dtype, shape, a.ndim, &nbytes) != 0 ||
	    nbytes != a.nbytes)
		return (SB_EPROTO);
	*out = shm_value(m, (size_t)a.offset, a.dtype, shape, a.ndim, nbytes);
	return (*out == NULL ? SB_ENOMEM : 0);
}
