/*
 * shmfake.c: a stand-in for snakebridge-worker that shows what the daemon
 * sends a worker about shared blocks. It answers every request with
 * {"elements": N, "conn": the fifth element or nil, "blocks": [[block,
 * size, conn, fd_ok]...] (every packet its block channel brought, fd_ok when
 * the fd was a file of at least size bytes), "detached": [block...] (the
 * shm.detach notices)}. It takes the packets waiting on its block channel
 * before it answers, unless the request is a call of a function named
 * "noread". It runs no Python.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <msgpack.h>

#include "sbproto.h"
#include "shmarray.h"

#define FAKE_MAX	4096

struct fake_block {
	struct sb_shmpacket	 pkt;
	int			 fd_ok;
};

static struct fake_block	 blocks[FAKE_MAX];
static size_t			 nblocks;
static uint64_t			 detached[FAKE_MAX];
static size_t			 ndetached;
static int			 chan = -1, shm = -1;

static int
fake_write(void *arg, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(chan, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			exit(1);
		}
		p += w;
		n -= (size_t)w;
	}
	return (0);
}

static void
fake_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* Take every packet waiting on the block channel. */
static void
fake_read_blocks(void)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	uint8_t		 buf[SB_SHM_PACKET_LEN];
	struct iovec	 iov = { buf, sizeof buf };
	struct msghdr	 msg;
	struct cmsghdr	*cm;
	struct stat	 st;
	struct fake_block *b;
	ssize_t		 n;
	int		 fd;

	while (shm != -1 && nblocks < FAKE_MAX) {
		memset(&msg, 0, sizeof msg);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof ctl.buf;
		n = recvmsg(shm, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		b = &blocks[nblocks++];
		memset(b, 0, sizeof *b);
		if (n == (ssize_t)sizeof buf)
			sb_shmpacket_get(buf, &b->pkt);
		cm = CMSG_FIRSTHDR(&msg);
		if (cm == NULL || cm->cmsg_type != SCM_RIGHTS)
			continue;
		memcpy(&fd, CMSG_DATA(cm), sizeof fd);
		b->fd_ok = n == (ssize_t)sizeof buf && fstat(fd, &st) == 0 &&
		    S_ISREG(st.st_mode) && (uint64_t)st.st_size >= b->pkt.size;
		close(fd);
	}
}

static void
fake_answer(uint64_t wid, uint32_t elements, const msgpack_object *conn)
{
	msgpack_packer	 pk;
	size_t		 i;

	msgpack_packer_init(&pk, NULL, fake_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, SB_MSG_RESPONSE);
	msgpack_pack_uint64(&pk, wid);
	msgpack_pack_nil(&pk);
	msgpack_pack_map(&pk, 4);
	fake_str(&pk, "elements");
	msgpack_pack_uint32(&pk, elements);
	fake_str(&pk, "conn");
	msgpack_pack_object(&pk, *conn);
	fake_str(&pk, "blocks");
	msgpack_pack_array(&pk, nblocks);
	for (i = 0; i < nblocks; i++) {
		msgpack_pack_array(&pk, 4);
		msgpack_pack_uint64(&pk, blocks[i].pkt.block);
		msgpack_pack_uint64(&pk, blocks[i].pkt.size);
		msgpack_pack_uint64(&pk, blocks[i].pkt.conn);
		msgpack_pack_int(&pk, blocks[i].fd_ok);
	}
	fake_str(&pk, "detached");
	msgpack_pack_array(&pk, ndetached);
	for (i = 0; i < ndetached; i++)
		msgpack_pack_uint64(&pk, detached[i]);
}

/* Is o the str s? */
static int
fake_streq(const msgpack_object *o, const char *s)
{
	return (o->type == MSGPACK_OBJECT_STR &&
	    o->via.str.size == strlen(s) &&
	    memcmp(o->via.str.ptr, s, o->via.str.size) == 0);
}

static void
fake_message(const msgpack_object *o)
{
	static const msgpack_object nil = { MSGPACK_OBJECT_NIL, { 0 } };
	const msgpack_object	*f = o->via.array.ptr, *p;
	uint32_t		 n = o->via.array.size;

	if (o->type != MSGPACK_OBJECT_ARRAY || n < 3)
		exit(1);
	if (f[0].via.u64 == SB_MSG_NOTIFY) {
		p = &f[2];
		if (fake_streq(&f[1], "shm.detach") &&
		    p->type == MSGPACK_OBJECT_ARRAY && p->via.array.size == 1 &&
		    ndetached < FAKE_MAX)
			detached[ndetached++] = p->via.array.ptr[0].via.u64;
		return;
	}
	if (f[0].via.u64 != SB_MSG_REQUEST || n < 4)
		return;
	p = &f[3];
	if (!(fake_streq(&f[2], "call") && p->type == MSGPACK_OBJECT_ARRAY &&
	    p->via.array.size > 2 && fake_streq(&p->via.array.ptr[2],
	    "noread")))
		fake_read_blocks();
	fake_answer(f[1].via.u64, n, n > 4 ? &f[4] : &nil);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "fd", required_argument, NULL, 'f' },
		{ "shm-fd", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	msgpack_unpacker	 unp;
	msgpack_unpacked	 msg;
	msgpack_packer		 pk;
	ssize_t			 n;
	int			 c;

	/* interrupts, drops and nudges do not concern it */
	signal(SIGINT, SIG_IGN);
	signal(SB_SIG_DROP, SIG_IGN);
	signal(SB_SIG_NUDGE, SIG_IGN);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'f')
			chan = atoi(optarg);
		else if (c == 's')
			shm = atoi(optarg);
	}
	if (chan == -1 || !msgpack_unpacker_init(&unp, 65536))
		return (2);
	msgpack_unpacked_init(&msg);
	msgpack_packer_init(&pk, NULL, fake_write);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int(&pk, SB_MSG_NOTIFY);
	fake_str(&pk, "ready");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 1);
	fake_str(&pk, "python");
	fake_str(&pk, "none");
	for (;;) {
		while (msgpack_unpacker_next(&unp, &msg) ==
		    MSGPACK_UNPACK_SUCCESS)
			fake_message(&msg.data);
		if (!msgpack_unpacker_reserve_buffer(&unp, 65536))
			return (1);
		n = read(chan, msgpack_unpacker_buffer(&unp),
		    msgpack_unpacker_buffer_capacity(&unp));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (0);
		msgpack_unpacker_buffer_consumed(&unp, (size_t)n);
	}
}
