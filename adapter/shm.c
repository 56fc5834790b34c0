/*
 * shm.c: the client shared blocks this worker has been handed
 * (docs/internals.md, "Shared blocks"). The daemon passes each block once on
 * the block channel (--shm-fd, a SOCK_SEQPACKET socket): one packet of block
 * id, size and owner connection with the block's fd. The channel is read
 * only when a block id is met that the table does not know. Each block is
 * mapped once and owned by a snakebridge.SharedBlock object, which exports
 * the mapping with the buffer protocol: the arrays over it keep it mapped
 * after the table lets it go (shm.detach).
 */
#include "adapter.h"
#include "shmarray.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The most fds taken from one packet (all closed when more than one). */
#define SHM_PACKET_FDS	8

struct shmblock {
	PyObject_HEAD
	uint64_t	 id;
	char		*base;		/* the mapping, ours */
	size_t		 size;
	int		 writable;
};

struct shm_entry {
	uint64_t	 id;
	uint64_t	 owner;		/* the connection that attached it */
	struct shmblock	*blk;		/* the table's reference */
};

size_t			 shm_nblocks;
static struct shm_entry	*shm_table;
static size_t		 shm_cap;

static int
shmblock_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
	struct shmblock	*b = (struct shmblock *)self;

	return (PyBuffer_FillInfo(view, self, b->base, (Py_ssize_t)b->size,
	    !b->writable, flags));
}

static void
shmblock_dealloc(PyObject *self)
{
	struct shmblock	*b = (struct shmblock *)self;

	if (b->base != NULL)
		munmap(b->base, b->size);
	PyObject_Free(self);
}

static PyObject *
shmblock_repr(PyObject *self)
{
	struct shmblock	*b = (struct shmblock *)self;

	return (PyUnicode_FromFormat("<snakebridge.SharedBlock %llu: %zu "
	    "bytes%s>", (unsigned long long)b->id, b->size,
	    b->writable ? "" : ", read-only"));
}

static PyBufferProcs shmblock_as_buffer = {
	.bf_getbuffer = shmblock_getbuffer,
};

static PyTypeObject shmblock_type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "snakebridge.SharedBlock",
	.tp_basicsize = sizeof(struct shmblock),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "A client's shared memory block, mapped in this worker.",
	.tp_dealloc = shmblock_dealloc,
	.tp_repr = shmblock_repr,
	.tp_as_buffer = &shmblock_as_buffer,
};

int
shm_init(void)
{
	return (PyType_Ready(&shmblock_type));
}

static struct shm_entry *
shm_find(uint64_t id)
{
	size_t	 i;

	for (i = 0; i < shm_nblocks; i++) {
		if (shm_table[i].id == id)
			return (&shm_table[i]);
	}
	return (NULL);
}

/* Map fd as packet p describes and enter it in the table; fd stays ours. */
static void
shm_map(const struct sb_shmpacket *p, int fd)
{
	struct shm_entry	*grown;
	struct shmblock		*b;
	struct stat		 st;
	void			*m;
	int			 writable = 1;

	if (shm_find(p->block) != NULL) {
		fprintf(stderr, "snakebridge-worker: block %llu handed over "
		    "again, dropped\n", (unsigned long long)p->block);
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || p->size == 0 ||
	    p->size > SIZE_MAX || (uint64_t)st.st_size < p->size) {
		fprintf(stderr, "snakebridge-worker: block %llu: not a file "
		    "of %llu bytes, dropped\n", (unsigned long long)p->block,
		    (unsigned long long)p->size);
		return;
	}
	m = mmap(NULL, (size_t)p->size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	/* Sealed against writes (or opened read-only): map it read-only. */
	if (m == MAP_FAILED && (errno == EPERM || errno == EACCES)) {
		writable = 0;
		m = mmap(NULL, (size_t)p->size, PROT_READ, MAP_SHARED, fd, 0);
	}
	if (m == MAP_FAILED) {
		fprintf(stderr, "snakebridge-worker: block %llu: mmap: %s, "
		    "dropped\n", (unsigned long long)p->block,
		    strerror(errno));
		return;
	}
	if (shm_nblocks == shm_cap) {
		grown = reallocarray(shm_table, shm_cap ? 2 * shm_cap : 8,
		    sizeof *grown);
		if (grown == NULL)
			goto fail;
		shm_table = grown;
		shm_cap = shm_cap ? 2 * shm_cap : 8;
	}
	if ((b = PyObject_New(struct shmblock, &shmblock_type)) == NULL) {
		PyErr_Clear();
		goto fail;
	}
	b->id = p->block;
	b->base = m;
	b->size = (size_t)p->size;
	b->writable = writable;
	shm_table[shm_nblocks].id = p->block;
	shm_table[shm_nblocks].owner = p->conn;
	shm_table[shm_nblocks].blk = b;
	shm_nblocks++;
	return;
fail:
	fprintf(stderr, "snakebridge-worker: block %llu: out of memory, "
	    "dropped\n", (unsigned long long)p->block);
	munmap(m, (size_t)p->size);
}

/*
 * Take one packet; 0 when one was taken (good or not), -1 when none waits
 * (or the channel is gone).
 */
static int
shm_take_packet(int chfd)
{
	union {
		struct cmsghdr	 h;
		char		 b[CMSG_SPACE(SHM_PACKET_FDS * sizeof(int))];
	} cm;
	struct sb_shmpacket	 p;
	struct cmsghdr		*c;
	struct msghdr		 mh;
	struct iovec		 iov;
	uint8_t			 buf[SB_SHM_PACKET_LEN + 1];
	int			 fds[SHM_PACKET_FDS];
	size_t			 nfd = 0, i, n;
	ssize_t			 len;

	memset(&mh, 0, sizeof mh);
	iov.iov_base = buf;
	iov.iov_len = sizeof buf;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.b;
	mh.msg_controllen = sizeof cm.b;
	do
		len = recvmsg(chfd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (len < 0 && errno == EINTR);
	if (len < 0)
		return (-1);
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n && nfd < SHM_PACKET_FDS; i++)
			memcpy(&fds[nfd++], CMSG_DATA(c) + i * sizeof(int),
			    sizeof(int));
	}
	/* A zero-length read without fds is the channel's end. */
	if (len == 0 && nfd == 0)
		return (-1);
	if (len != SB_SHM_PACKET_LEN || (mh.msg_flags & MSG_TRUNC) ||
	    nfd != 1 || (mh.msg_flags & MSG_CTRUNC))
		fprintf(stderr, "snakebridge-worker: block channel: a packet "
		    "of %s%zd bytes with %s%zu fds dropped\n",
		    mh.msg_flags & MSG_TRUNC ? "over " : "",
		    mh.msg_flags & MSG_TRUNC ? (ssize_t)SB_SHM_PACKET_LEN : len,
		    mh.msg_flags & MSG_CTRUNC ? "over " : "", nfd);
	else {
		sb_shmpacket_get(buf, &p);
		shm_map(&p, fds[0]);
	}
	for (i = 0; i < nfd; i++)
		close(fds[i]);
	return (0);
}

/* Take every packet waiting on the block channel. */
static void
shm_read_channel(void)
{
	if (worker_id.shm_fd < 0)
		return;
	while (shm_take_packet(worker_id.shm_fd) == 0)
		;
}

/* The entry for block id, reading the channel if it is not known yet. */
static struct shm_entry *
shm_lookup(uint64_t id)
{
	struct shm_entry	*e;

	if ((e = shm_find(id)) == NULL) {
		shm_read_channel();
		e = shm_find(id);
	}
	return (e);
}

/*
 * The SharedBlock for ext 12 value a in a request of connection conn (new
 * reference), with its byte range checked: NULL with
 * snakebridge.SharedMemoryError set otherwise.
 */
PyObject *
shm_block_for(uint64_t conn, const struct sb_shmarray *a)
{
	struct shm_entry	*e;

	if ((e = shm_lookup(a->block)) == NULL)
		return (pyerr_set(SB_ERRTYPE_SHARED_MEMORY, "block %llu is "
		    "not attached", (unsigned long long)a->block));
	if (conn == 0 || e->owner != conn)
		return (pyerr_set(SB_ERRTYPE_SHARED_MEMORY, "block %llu "
		    "belongs to another connection",
		    (unsigned long long)a->block));
	if (a->offset + a->nbytes > e->blk->size)
		return (pyerr_set(SB_ERRTYPE_SHARED_MEMORY, "bytes %llu to "
		    "%llu are past the end of block %llu (%zu bytes)",
		    (unsigned long long)a->offset,
		    (unsigned long long)(a->offset + a->nbytes),
		    (unsigned long long)a->block, e->blk->size));
	Py_INCREF(e->blk);
	return ((PyObject *)e->blk);
}

/*
 * Whether len bytes at p lie wholly in a block of connection conn: 1 with
 * its id and the offset of p in it, else 0.
 */
int
shm_locate(uint64_t conn, const void *p, size_t len, uint64_t *block,
    uint64_t *offset)
{
	const char	*c = p;
	size_t		 i;

	for (i = 0; i < shm_nblocks; i++) {
		struct shmblock *b = shm_table[i].blk;

		if (shm_table[i].owner != conn || c < b->base ||
		    (size_t)(c - b->base) > b->size ||
		    len > b->size - (size_t)(c - b->base))
			continue;
		*block = shm_table[i].id;
		*offset = (uint64_t)(c - b->base);
		return (1);
	}
	return (0);
}

/* shm.detach [block]: the table lets the block go. */
void
shm_detach(uint64_t id)
{
	struct shm_entry	*e;
	struct shmblock		*b;

	if ((e = shm_lookup(id)) == NULL)
		return;
	b = e->blk;
	*e = shm_table[--shm_nblocks];
	Py_DECREF(b);
}

/* Let every block go (at exit). */
void
shm_clear(void)
{
	while (shm_nblocks > 0)
		Py_DECREF(shm_table[--shm_nblocks].blk);
	free(shm_table);
	shm_table = NULL;
	shm_cap = 0;
}
