/*
 * shm.c: the shared blocks clients attach (docs/protocol.md, "Shared
 * memory"; docs/internals.md, "Shared blocks"). Each connection keeps its
 * blocks (id, fd, size) and each block the worker processes that have it.
 * A block goes to a worker on its block channel (one SOCK_SEQPACKET packet
 * with the fd attached) just before the first request there that uses it;
 * a detached block is forgotten by those workers ([2, "shm.detach",
 * [block]]). Also the descriptors a connection sent and shm.attach did not
 * take yet.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "snakebridged.h"

/* One worker process that has a block: its slot and generation. */
struct shmholder {
	struct worker	*w;
	uint32_t	 generation;
};

static uint64_t shm_next_id = 1;
static uint64_t shm_blocks, shm_bytes;	/* attached now, daemon-wide */

/* The blocks attached now, over every connection, and their bytes. */
void
shm_totals(uint64_t *blocks, uint64_t *bytes)
{
	*blocks = shm_blocks;
	*bytes = shm_bytes;
}

/* The oldest descriptor c sent and no attach took yet, or -1. */
int
shm_fd_take(struct conn *c)
{
	int fd;

	if (c->fds.n == 0)
		return (-1);
	fd = c->fds.fd[0];
	memmove(&c->fds.fd[0], &c->fds.fd[1], --c->fds.n * sizeof fd);
	return (fd);
}

/*
 * May fd back a block of size bytes? A regular (shmem) file sealed against
 * shrinking and at least that long, so that no mapping of it can fault. 0,
 * or -1 with why in msg.
 */
int
shm_check_fd(int fd, uint64_t size, char *msg, size_t len)
{
	struct stat st;
	int seals;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(msg, len, "the descriptor is not a memfd (a regular "
		    "shmem file)");
		return (-1);
	}
	if ((seals = fcntl(fd, F_GET_SEALS)) == -1 ||
	    !(seals & F_SEAL_SHRINK)) {
		snprintf(msg, len, "the memfd is not sealed against shrinking "
		    "(F_SEAL_SHRINK)");
		return (-1);
	}
	if (size == 0 || st.st_size < 0 || size > (uint64_t)st.st_size) {
		snprintf(msg, len, "size %llu: must be > 0 and at most the "
		    "file's %lld bytes", (unsigned long long)size,
		    (long long)st.st_size);
		return (-1);
	}
	return (0);
}

/* Attach fd (checked) to c as a new block; it takes fd. */
struct shmblock *
shm_add(struct conn *c, int fd, uint64_t size)
{
	struct shmblock *b;

	if ((b = calloc(1, sizeof *b)) == NULL)
		abort();
	b->id = shm_next_id++;
	b->fd = fd;
	b->size = size;
	b->conn = c;
	TAILQ_INSERT_TAIL(&c->blocks, b, entry);
	c->nblocks++;
	shm_blocks++;
	shm_bytes += size;
	log_debug("connection %llu: attached block %llu (%llu bytes)",
	    (unsigned long long)c->id, (unsigned long long)b->id,
	    (unsigned long long)size);
	return (b);
}

struct shmblock *
shm_find(const struct conn *c, uint64_t id)
{
	struct shmblock *b;

	TAILQ_FOREACH(b, &c->blocks, entry) {
		if (b->id == id)
			return (b);
	}
	return (NULL);
}

/* Is h the worker process running in its slot now? */
static int
shm_holder_live(const struct shmholder *h)
{
	return (h->w->generation == h->generation && h->w->pid > 0);
}

/* Does w's current process have b? */
static int
shm_held_by(const struct shmblock *b, const struct worker *w)
{
	unsigned i;

	for (i = 0; i < b->nholders; i++) {
		if (b->holders[i].w == w && shm_holder_live(&b->holders[i]))
			return (1);
	}
	return (0);
}

/* Note that w's current process has b (dead processes' entries go). */
static void
shm_hold(struct shmblock *b, struct worker *w)
{
	struct shmholder *v;
	unsigned i, n = 0;

	for (i = 0; i < b->nholders; i++) {
		if (shm_holder_live(&b->holders[i]))
			b->holders[n++] = b->holders[i];
	}
	if ((v = reallocarray(b->holders, n + 1, sizeof *v)) == NULL)
		abort();
	v[n].w = w;
	v[n].generation = w->generation;
	b->holders = v;
	b->nholders = n + 1;
}

/* Send b to w on its block channel, without blocking; 0 or -1 (errno). */
static int
shm_send(const struct shmblock *b, const struct worker *w)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct sb_shmpacket pkt = { b->id, b->size, b->conn->id };
	uint8_t buf[SB_SHM_PACKET_LEN];
	struct iovec iov = { buf, sizeof buf };
	struct msghdr msg;
	struct cmsghdr *cm;

	if (w->shmfd < 0) {
		errno = EBADF;
		return (-1);
	}
	sb_shmpacket_put(buf, &pkt);
	memset(&msg, 0, sizeof msg);
	memset(&ctl, 0, sizeof ctl);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof ctl.buf;
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &b->fd, sizeof(int));
	if (sendmsg(w->shmfd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    (ssize_t)sizeof buf)
		return (-1);
	return (0);
}

/*
 * Before r is sent to w: send w each block r uses that w's process does
 * not have yet. 0, or -1 with why in msg (r cannot run there now; the
 * blocks sent stay sent).
 */
int
shm_send_blocks(struct request *r, struct worker *w, char *msg, size_t len)
{
	struct shmblock *b;
	unsigned i;

	for (i = 0; i < r->nshm; i++) {
		if (r->conn == NULL ||
		    (b = shm_find(r->conn, r->shm[i])) == NULL) {
			snprintf(msg, len, "block %llu was detached",
			    (unsigned long long)r->shm[i]);
			return (-1);
		}
		if (shm_held_by(b, w))
			continue;
		if (shm_send(b, w) != 0) {
			snprintf(msg, len, "cannot hand block %llu to worker "
			    "%s/%u: %s", (unsigned long long)b->id,
			    w->pool->name, w->slot, strerror(errno));
			return (-1);
		}
		shm_hold(b, w);
		log_debug("worker %s/%u: given block %llu", w->pool->name,
		    w->slot, (unsigned long long)b->id);
	}
	return (0);
}

/* Forget b: its fd closes and the workers that have it are told. */
void
shm_detach(struct shmblock *b)
{
	unsigned i;

	for (i = 0; i < b->nholders; i++) {
		if (shm_holder_live(&b->holders[i]))
			worker_notify(b->holders[i].w, "shm.detach", b->id);
	}
	log_debug("connection %llu: detached block %llu",
	    (unsigned long long)b->conn->id, (unsigned long long)b->id);
	TAILQ_REMOVE(&b->conn->blocks, b, entry);
	b->conn->nblocks--;
	shm_blocks--;
	shm_bytes -= b->size;
	close(b->fd);
	free(b->holders);
	free(b);
}

/* c is going: its blocks are detached, the descriptors waiting closed. */
void
shm_conn_gone(struct conn *c)
{
	struct shmblock *b;
	int fd;

	while ((b = TAILQ_FIRST(&c->blocks)) != NULL)
		shm_detach(b);
	while ((fd = shm_fd_take(c)) != -1)
		close(fd);
}
