/*
 * check_shmwire.c: the daemon's side of shared memory over a raw socket:
 * shm.attach with the descriptor passed (SCM_RIGHTS) and every way it can
 * fail, shm.detach, the limit on blocks, descriptors sent beyond what may
 * wait (the connection is closed, others are not), ext 12 values the daemon
 * refuses before a request runs, a request whose block is detached while it
 * waits in the queue, and the daemon's descriptors going back to
 * what they were once clients holding blocks leave; and, with a stand-in
 * worker (tests/shmfake.c), what a worker is sent: block packets before the
 * request that needs them, once per process, the connection id as a fifth
 * element, shm.detach notices, a restarted worker given its blocks again,
 * and a full block channel. Nothing here needs a worker that reads ext 12.
 */
#include <sys/mman.h>
#include <sys/socket.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "sbproto.h"
#include "shmarray.h"

#define CLOSE_MS	5000	/* a violating peer is dropped within this */
#define FDS_MS		10000	/* the daemon's descriptors are back within */
#define BLOCK_SIZE	4096
#define SHM_ERROR	"snakebridge.SharedMemoryError"
#define BAD_REQUEST	"snakebridge.BadRequest"
#define PROTOCOL_ERROR	"snakebridge.ProtocolError"
#define LIMIT_EXCEEDED	"snakebridge.LimitExceeded"

/* A memfd of size bytes, sealed against shrinking when seal is set. */
static int
make_memfd(off_t size, int seal)
{
	int	 fd;

	fd = memfd_create("check_shmwire", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ck_assert_msg(fd != -1, "memfd_create: %s", strerror(errno));
	ck_assert_int_eq(ftruncate(fd, size), 0);
	if (seal)
		ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	return (fd);
}

/*
 * Send what sbt_sb holds with nfds descriptors on its first byte (none when
 * nfds is 0), then clear sbt_sb. 0, or -1 once the peer is gone.
 */
static int
send_fds(struct sbt_raw *r, const int *fds, int nfds)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(16 * sizeof(int))];
	} ctl;
	struct msghdr	 msg;
	struct iovec	 iov = { sbt_sb.data, 1 };
	struct cmsghdr	*cm;
	ssize_t		 n;
	int		 rc;

	ck_assert(nfds <= 16 && sbt_sb.size > 0);
	if (nfds == 0)
		return (sbt_raw_send_sbuf(r, &sbt_sb));
	memset(&msg, 0, sizeof msg);
	memset(&ctl, 0, sizeof ctl);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	do
		n = sendmsg(r->fd, &msg, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n != 1) {
		msgpack_sbuffer_clear(&sbt_sb);
		return (-1);
	}
	rc = sbt_raw_send(r, sbt_sb.data + 1, sbt_sb.size - 1);
	msgpack_sbuffer_clear(&sbt_sb);
	return (rc);
}

/* The response to msgid (fails the test without one). */
static const msgpack_object *
response(struct sbt_raw *r, uint32_t msgid)
{
	const msgpack_object	*o;

	ck_assert_msg(sbt_raw_response(r, msgid, SBT_IO_TIMEOUT_MS, &o) == 1,
	    "no response to request %u", msgid);
	return (o);
}

/* The response o must be an error of type. */
static const msgpack_object *
check_error(const msgpack_object *o, const char *type)
{
	const char	*seen = sbt_obj_errtype(o);

	ck_assert_msg(seen != NULL && strcmp(seen, type) == 0,
	    "request %llu: expected %s, got %s",
	    (unsigned long long)o->via.array.ptr[1].via.u64, type,
	    seen != NULL ? seen : "success");
	return (o);
}

/* The response to msgid must be an error of type. */
static const msgpack_object *
expect_error(struct sbt_raw *r, uint32_t msgid, const char *type)
{
	return (check_error(response(r, msgid), type));
}

/* shm.attach [size] with fd passed (none when -1): the response. */
static const msgpack_object *
attach(struct sbt_raw *r, uint32_t msgid, uint64_t size, int fd)
{
	sbt_pack_request(&sbt_pk, msgid, "shm.attach", 1);
	msgpack_pack_uint64(&sbt_pk, size);
	ck_assert_int_eq(send_fds(r, &fd, fd == -1 ? 0 : 1), 0);
	return (response(r, msgid));
}

/* Attach a fresh sealed memfd of size bytes: the block id. */
static uint64_t
attach_ok(struct sbt_raw *r, uint32_t msgid, uint64_t size)
{
	const msgpack_object	*o, *b;
	int			 fd = make_memfd((off_t)size, 1);

	o = attach(r, msgid, size, fd);
	close(fd);
	ck_assert_msg(sbt_obj_errtype(o) == NULL, "shm.attach failed: %s",
	    sbt_obj_errtype(o));
	b = sbt_obj_get(&o->via.array.ptr[3], "block");
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(b->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	ck_assert_uint_gt(b->via.u64, 0);
	return (b->via.u64);
}

/* shm.detach [block]: the response. */
static const msgpack_object *
detach(struct sbt_raw *r, uint32_t msgid, uint64_t block)
{
	sbt_pack_request(&sbt_pk, msgid, "shm.detach", 1);
	msgpack_pack_uint64(&sbt_pk, block);
	ck_assert_int_eq(sbt_raw_send_sbuf(r, &sbt_sb), 0);
	return (response(r, msgid));
}

/* session.open [name] on r. */
static void
open_session(struct sbt_raw *r, uint32_t msgid, const char *name)
{
	sbt_pack_request(&sbt_pk, msgid, "session.open", 1);
	sbt_pack_str(&sbt_pk, name);
	ck_assert_int_eq(sbt_raw_send_sbuf(r, &sbt_sb), 0);
	ck_assert_ptr_null(sbt_obj_errtype(response(r, msgid)));
}

/* The ext 12 of bytes [offset, offset + n) of block. */
static void
pack_ext12(msgpack_packer *p, uint64_t block, uint64_t offset, uint64_t n)
{
	struct sb_shmarray	 a;

	memset(&a, 0, sizeof a);
	strcpy(a.dtype, "|u1");
	a.ndim = 1;
	a.shape[0] = n;
	a.block = block;
	a.offset = offset;
	a.nbytes = n;
	ck_assert_int_eq(sb_shmarray_pack(p, &a), 0);
}

/* The connection must be closed after a ProtocolError. */
static void
expect_closed(struct sbt_raw *r)
{
	const char	*seen;

	ck_assert_msg(sbt_raw_wait_closed(r, CLOSE_MS, &seen),
	    "connection not closed within %d ms", CLOSE_MS);
	ck_assert_msg(strcmp(seen, PROTOCOL_ERROR) == 0,
	    "expected %s before the close, got \"%s\"", PROTOCOL_ERROR, seen);
}

/* How many descriptors the daemon has open. */
static int
daemon_fds(void)
{
	char		 path[64];
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)sbt_d.pid);
	d = opendir(path);
	ck_assert_msg(d != NULL, "%s: %s", path, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return (n);
}

START_TEST(test_attach_detach)
{
	struct sbt_raw		 r;
	const msgpack_object	*o;
	uint64_t		 a, b, c;

	sbt_raw_open(&sbt_d, &r);
	a = attach_ok(&r, 1, BLOCK_SIZE);
	b = attach_ok(&r, 2, 1);	/* a block may be smaller than the file */
	ck_assert_uint_ne(a, b);
	o = detach(&r, 3, a);
	ck_assert_ptr_null(sbt_obj_errtype(o));
	ck_assert_int_eq(o->via.array.ptr[3].type, MSGPACK_OBJECT_BOOLEAN);
	ck_assert(o->via.array.ptr[3].via.boolean);
	/* twice, or a block never attached */
	check_error(detach(&r, 4, a), SHM_ERROR);
	check_error(detach(&r, 5, 999999), SHM_ERROR);
	check_error(detach(&r, 6, 0), SHM_ERROR);
	/* ids are never reused */
	c = attach_ok(&r, 7, BLOCK_SIZE);
	ck_assert_uint_gt(c, b);
	ck_assert_ptr_null(sbt_obj_errtype(detach(&r, 8, b)));
	ck_assert_ptr_null(sbt_obj_errtype(detach(&r, 9, c)));
	ck_assert_int_eq(sbt_raw_ping(&r, 10), 0);
	sbt_raw_close(&r);
	sbt_wire_check_others();
}
END_TEST

START_TEST(test_hello_limit)
{
	struct sbt_raw		 r;
	const msgpack_object	*o, *v;

	sbt_raw_open(&sbt_d, &r);
	sbt_pack_request(&sbt_pk, 1, "hello", 0);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	o = response(&r, 1);
	v = sbt_obj_get(sbt_obj_get(&o->via.array.ptr[3], "limits"),
	    "shm_blocks");
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(v->via.u64, SB_SHM_BLOCKS_MAX);
	sbt_raw_close(&r);
}
END_TEST

START_TEST(test_attach_refused)
{
	struct sbt_raw	 r, other;
	int		 p[2], fd;

	sbt_raw_open(&sbt_d, &r);
	/* no descriptor */
	check_error(attach(&r, 1, BLOCK_SIZE, -1), SHM_ERROR);
	/* a pipe */
	ck_assert_int_eq(pipe(p), 0);
	check_error(attach(&r, 2, 1, p[0]), SHM_ERROR);
	close(p[0]);
	close(p[1]);
	/* a socket */
	check_error(attach(&r, 3, 1, r.fd), SHM_ERROR);
	/* not sealed against shrinking */
	fd = make_memfd(BLOCK_SIZE, 0);
	check_error(attach(&r, 4, BLOCK_SIZE, fd), SHM_ERROR);
	close(fd);
	fd = make_memfd(BLOCK_SIZE, 1);
	/* size 0, and larger than the file */
	check_error(attach(&r, 5, 0, fd), SHM_ERROR);
	check_error(attach(&r, 6, BLOCK_SIZE + 1, fd), SHM_ERROR);
	check_error(attach(&r, 7, UINT64_MAX, fd), SHM_ERROR);
	/* an empty file */
	close(fd);
	fd = make_memfd(0, 1);
	check_error(attach(&r, 8, 1, fd), SHM_ERROR);
	close(fd);
	/* each failed attach took its descriptor: none waits */
	check_error(attach(&r, 9, BLOCK_SIZE, -1), SHM_ERROR);
	/* the descriptor sent on another connection is not this one's */
	sbt_raw_open(&sbt_d, &other);
	fd = make_memfd(BLOCK_SIZE, 1);
	sbt_pack_request(&sbt_pk, 10, "ping", 0);
	ck_assert_int_eq(send_fds(&other, &fd, 1), 0);
	response(&other, 10);
	close(fd);
	check_error(attach(&r, 11, BLOCK_SIZE, -1), SHM_ERROR);
	/* it waits on its own connection for the next attach */
	sbt_pack_request(&sbt_pk, 12, "shm.attach", 1);
	msgpack_pack_uint64(&sbt_pk, BLOCK_SIZE);
	ck_assert_int_eq(sbt_raw_send_sbuf(&other, &sbt_sb), 0);
	ck_assert_ptr_null(sbt_obj_errtype(response(&other, 12)));
	sbt_raw_close(&other);
	ck_assert_int_eq(sbt_raw_ping(&r, 13), 0);
	sbt_raw_close(&r);
	sbt_wire_check_others();
}
END_TEST

START_TEST(test_attach_bad_params)
{
	struct sbt_raw	 r;
	int		 fd = make_memfd(BLOCK_SIZE, 1);

	sbt_raw_open(&sbt_d, &r);
	sbt_pack_request(&sbt_pk, 1, "shm.attach", 1);
	sbt_pack_str(&sbt_pk, "4096");
	ck_assert_int_eq(send_fds(&r, &fd, 1), 0);
	expect_error(&r, 1, BAD_REQUEST);
	sbt_pack_request(&sbt_pk, 2, "shm.attach", 0);
	ck_assert_int_eq(send_fds(&r, &fd, 1), 0);
	expect_error(&r, 2, BAD_REQUEST);
	sbt_pack_request(&sbt_pk, 3, "shm.attach", 1);
	msgpack_pack_int(&sbt_pk, -1);
	ck_assert_int_eq(send_fds(&r, &fd, 1), 0);
	expect_error(&r, 3, BAD_REQUEST);
	sbt_pack_request(&sbt_pk, 4, "shm.attach", 1);
	msgpack_pack_nil(&sbt_pk);
	ck_assert_int_eq(send_fds(&r, &fd, 1), 0);
	expect_error(&r, 4, BAD_REQUEST);
	sbt_pack_request(&sbt_pk, 5, "shm.attach", 1);
	msgpack_pack_double(&sbt_pk, 4096.0);
	ck_assert_int_eq(send_fds(&r, &fd, 1), 0);
	expect_error(&r, 5, BAD_REQUEST);
	/* refused before the params are looked at one by one */
	sbt_pack_request(&sbt_pk, 20, "shm.attach", 2);
	msgpack_pack_uint64(&sbt_pk, BLOCK_SIZE);
	msgpack_pack_uint64(&sbt_pk, BLOCK_SIZE);
	ck_assert_int_eq(send_fds(&r, &fd, 1), 0);
	expect_error(&r, 20, BAD_REQUEST);
	msgpack_pack_array(&sbt_pk, 4);
	msgpack_pack_uint8(&sbt_pk, 0);
	msgpack_pack_uint32(&sbt_pk, 21);
	sbt_pack_str(&sbt_pk, "shm.attach");
	msgpack_pack_map(&sbt_pk, 0);
	ck_assert_int_eq(send_fds(&r, &fd, 1), 0);
	expect_error(&r, 21, BAD_REQUEST);
	/* they took their descriptors too */
	check_error(attach(&r, 6, BLOCK_SIZE, -1), SHM_ERROR);
	sbt_pack_request(&sbt_pk, 7, "shm.detach", 1);
	sbt_pack_str(&sbt_pk, "1");
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, 7, BAD_REQUEST);
	sbt_pack_request(&sbt_pk, 8, "shm.detach", 0);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, 8, BAD_REQUEST);
	close(fd);
	sbt_raw_close(&r);
	sbt_wire_check_others();
}
END_TEST

START_TEST(test_block_limit)
{
	struct sbt_raw		 r;
	const msgpack_object	*o, *d;
	uint64_t		 first = 0, id;
	uint32_t		 i;
	int			 fd = make_memfd(BLOCK_SIZE, 1);

	sbt_raw_open(&sbt_d, &r);
	for (i = 0; i < SB_SHM_BLOCKS_MAX; i++) {
		o = attach(&r, i + 1, BLOCK_SIZE, fd);
		ck_assert_msg(sbt_obj_errtype(o) == NULL, "attach %u: %s", i,
		    sbt_obj_errtype(o));
		id = sbt_obj_get(&o->via.array.ptr[3], "block")->via.u64;
		if (i == 0)
			first = id;
	}
	o = check_error(attach(&r, 100, BLOCK_SIZE, fd), LIMIT_EXCEEDED);
	d = sbt_obj_get(&o->via.array.ptr[2], "details");
	ck_assert_msg(sbt_obj_streq(sbt_obj_get(d, "limit"), "shm_blocks"),
	    "details.limit is not \"shm_blocks\"");
	/* one detached makes room for one */
	ck_assert_ptr_null(sbt_obj_errtype(detach(&r, 101, first)));
	o = attach(&r, 102, BLOCK_SIZE, fd);
	ck_assert_ptr_null(sbt_obj_errtype(o));
	check_error(attach(&r, 103, BLOCK_SIZE, fd), LIMIT_EXCEEDED);
	close(fd);
	/* another connection has its own limit */
	{
		struct sbt_raw	 r2;

		sbt_raw_open(&sbt_d, &r2);
		attach_ok(&r2, 1, BLOCK_SIZE);
		sbt_raw_close(&r2);
	}
	sbt_raw_close(&r);
	sbt_wire_check_others();
}
END_TEST

START_TEST(test_fds_waiting)
{
	struct sbt_raw	 r;
	uint32_t	 i;
	int		 fd = make_memfd(BLOCK_SIZE, 1);

	/* four may wait */
	sbt_raw_open(&sbt_d, &r);
	for (i = 0; i < SB_SHM_FDS_WAITING; i++) {
		sbt_pack_request(&sbt_pk, i + 1, "ping", 0);
		ck_assert_int_eq(send_fds(&r, &fd, 1), 0);
		ck_assert_ptr_null(sbt_obj_errtype(response(&r, i + 1)));
	}
	/* the fifth breaks the protocol */
	sbt_pack_request(&sbt_pk, 10, "ping", 0);
	send_fds(&r, &fd, 1);
	expect_closed(&r);
	sbt_raw_close(&r);
	sbt_wire_check_others();
	close(fd);
}
END_TEST

/* One message carrying nfds descriptors: the connection is closed. */
static void
many_in_one(int nfds)
{
	struct sbt_raw	 r;
	int		 fds[16], i;

	for (i = 0; i < nfds; i++)
		fds[i] = make_memfd(BLOCK_SIZE, 1);
	sbt_raw_open(&sbt_d, &r);
	sbt_pack_request(&sbt_pk, 1, "ping", 0);
	send_fds(&r, fds, nfds);
	expect_closed(&r);
	sbt_raw_close(&r);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	sbt_wire_check_others();
}

START_TEST(test_fds_one_message)
{
	many_in_one(SB_SHM_FDS_WAITING + 1);
	many_in_one(10);
}
END_TEST

/* call sbfixtures.identity with args [x] where x is an ext 12 of payload. */
static void
pack_call_ext(uint32_t msgid, const void *payload, size_t len)
{
	sbt_pack_request(&sbt_pk, msgid, "call", 3);
	sbt_pack_str(&sbt_pk, "sbfixtures");
	sbt_pack_str(&sbt_pk, "identity");
	msgpack_pack_array(&sbt_pk, 1);
	msgpack_pack_ext(&sbt_pk, len, SB_EXT_SHMARRAY);
	msgpack_pack_ext_body(&sbt_pk, payload, len);
}

/* The ext 12 payload of a; its length in *len (static buffer). */
static const char *
shm_payload(const struct sb_shmarray *a, size_t *len)
{
	static char		 buf[512];
	msgpack_sbuffer		 s;
	msgpack_packer		 p;
	msgpack_unpacked	 up;

	msgpack_sbuffer_init(&s);
	msgpack_packer_init(&p, &s, msgpack_sbuffer_write);
	ck_assert_int_eq(sb_shmarray_pack(&p, a), 0);
	msgpack_unpacked_init(&up);
	ck_assert_int_eq(msgpack_unpack_next(&up, s.data, s.size, NULL),
	    MSGPACK_UNPACK_SUCCESS);
	ck_assert_int_eq(up.data.type, MSGPACK_OBJECT_EXT);
	*len = up.data.via.ext.size;
	ck_assert_uint_le(*len, sizeof buf);
	memcpy(buf, up.data.via.ext.ptr, *len);
	msgpack_unpacked_destroy(&up);
	msgpack_sbuffer_destroy(&s);
	return (buf);
}

/* An ext 12 whose payload is the msgpack packed by fn. */
static void
call_with_packed(uint32_t msgid, void (*fn)(msgpack_packer *))
{
	msgpack_sbuffer		 s;
	msgpack_packer		 p;

	msgpack_sbuffer_init(&s);
	msgpack_packer_init(&p, &s, msgpack_sbuffer_write);
	fn(&p);
	pack_call_ext(msgid, s.data, s.size);
	msgpack_sbuffer_destroy(&s);
}

static void
pack_dtype_int(msgpack_packer *p)
{
	msgpack_pack_array(p, 5);
	msgpack_pack_int(p, 8);
	msgpack_pack_array(p, 1);
	msgpack_pack_int(p, 1);
	msgpack_pack_int(p, 1);
	msgpack_pack_int(p, 0);
	msgpack_pack_int(p, 8);
}

static void
pack_shape_int(msgpack_packer *p)
{
	msgpack_pack_array(p, 5);
	sbt_pack_str(p, "<f8");
	msgpack_pack_int(p, 1);
	msgpack_pack_int(p, 1);
	msgpack_pack_int(p, 0);
	msgpack_pack_int(p, 8);
}

static void
pack_block_str(msgpack_packer *p)
{
	msgpack_pack_array(p, 5);
	sbt_pack_str(p, "<f8");
	msgpack_pack_array(p, 0);
	sbt_pack_str(p, "1");
	msgpack_pack_int(p, 0);
	msgpack_pack_int(p, 8);
}

static void
pack_negative_offset(msgpack_packer *p)
{
	msgpack_pack_array(p, 5);
	sbt_pack_str(p, "<f8");
	msgpack_pack_array(p, 0);
	msgpack_pack_int(p, 1);
	msgpack_pack_int(p, -8);
	msgpack_pack_int(p, 8);
}

static void
pack_four_fields(msgpack_packer *p)
{
	msgpack_pack_array(p, 4);
	sbt_pack_str(p, "<f8");
	msgpack_pack_array(p, 0);
	msgpack_pack_int(p, 1);
	msgpack_pack_int(p, 0);
}

static void
pack_map(msgpack_packer *p)
{
	msgpack_pack_map(p, 1);
	sbt_pack_str(p, "block");
	msgpack_pack_int(p, 1);
}

START_TEST(test_ext12_malformed)
{
	static const char lying_array[] = { (char)0x95, (char)0xa3, '<',
	    'f', '8' };
	static const char lying_str[] = { (char)0x95, (char)0xa9, '<', 'f',
	    '8', (char)0x90, 1, 0, 8 };
	static const char nul_dtype[] = { (char)0x95, (char)0xa3, '<', 0,
	    '8', (char)0x90, 1, 0, 8 };
	static const char trailing[] = { (char)0x95, (char)0xa3, '<', 'f',
	    '8', (char)0x90, 1, 0, 8, 0 };
	struct sbt_raw		 r;
	struct sb_shmarray	 a;
	const char		*p;
	size_t			 len, i;
	uint64_t		 block;
	uint32_t		 id = 1;

	sbt_raw_open(&sbt_d, &r);
	block = attach_ok(&r, id++, BLOCK_SIZE);
	memset(&a, 0, sizeof a);
	strcpy(a.dtype, "<f8");
	a.ndim = 1;
	a.shape[0] = 4;
	a.block = block;
	a.nbytes = 32;
	p = shm_payload(&a, &len);
	/* every truncation of a valid payload, the empty one included */
	for (i = 0; i < len; i++) {
		pack_call_ext(id, p, i);
		ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
		expect_error(&r, id++, SHM_ERROR);
	}
	/* an offset that overflows with nbytes, and the largest one */
	a.offset = UINT64_MAX;
	p = shm_payload(&a, &len);
	pack_call_ext(id, p, len);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, id++, SHM_ERROR);
	a.offset = UINT64_MAX - 31;
	p = shm_payload(&a, &len);
	pack_call_ext(id, p, len);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, id++, SHM_ERROR);
	a.offset = 0;
	a.nbytes = UINT64_MAX;
	p = shm_payload(&a, &len);
	pack_call_ext(id, p, len);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, id++, SHM_ERROR);
	/* wrong types and shapes */
	call_with_packed(id, pack_dtype_int);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, id++, SHM_ERROR);
	call_with_packed(id, pack_shape_int);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, id++, SHM_ERROR);
	call_with_packed(id, pack_block_str);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, id++, SHM_ERROR);
	call_with_packed(id, pack_negative_offset);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, id++, SHM_ERROR);
	call_with_packed(id, pack_four_fields);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, id++, SHM_ERROR);
	call_with_packed(id, pack_map);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, id++, SHM_ERROR);
	/* lying lengths, a NUL in the dtype, bytes after the value */
	pack_call_ext(id, lying_array, sizeof lying_array);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, id++, SHM_ERROR);
	pack_call_ext(id, lying_str, sizeof lying_str);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, id++, SHM_ERROR);
	pack_call_ext(id, nul_dtype, sizeof nul_dtype);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, id++, SHM_ERROR);
	pack_call_ext(id, trailing, sizeof trailing);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, id++, SHM_ERROR);
	ck_assert_int_eq(sbt_raw_ping(&r, id++), 0);
	sbt_raw_close(&r);
	sbt_wire_check_others();
}
END_TEST

/* A tuple (ext 1) holding [1, x] where x is an ext 12 of payload. */
static void
pack_tuple_with(msgpack_packer *out, const char *payload, size_t len)
{
	msgpack_sbuffer		 s;
	msgpack_packer		 p;

	msgpack_sbuffer_init(&s);
	msgpack_packer_init(&p, &s, msgpack_sbuffer_write);
	msgpack_pack_array(&p, 2);
	msgpack_pack_int(&p, 1);
	msgpack_pack_ext(&p, len, SB_EXT_SHMARRAY);
	msgpack_pack_ext_body(&p, payload, len);
	msgpack_pack_ext(out, s.size, SB_EXT_TUPLE);
	msgpack_pack_ext_body(out, s.data, s.size);
	msgpack_sbuffer_destroy(&s);
}

START_TEST(test_ext12_refused)
{
	struct sbt_raw		 r, other;
	struct sb_shmarray	 a;
	const char		*p;
	size_t			 len;
	uint64_t		 mine, theirs;

	sbt_raw_open(&sbt_d, &r);
	sbt_raw_open(&sbt_d, &other);
	mine = attach_ok(&r, 1, BLOCK_SIZE);
	theirs = attach_ok(&other, 1, BLOCK_SIZE);
	memset(&a, 0, sizeof a);
	strcpy(a.dtype, "|u1");
	a.ndim = 1;
	/* another connection's block */
	a.block = theirs;
	a.shape[0] = a.nbytes = 16;
	p = shm_payload(&a, &len);
	pack_call_ext(2, p, len);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, 2, SHM_ERROR);
	/* a block never attached, and block 0 */
	a.block = theirs + 1000;
	p = shm_payload(&a, &len);
	pack_call_ext(3, p, len);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, 3, SHM_ERROR);
	a.block = 0;
	p = shm_payload(&a, &len);
	pack_call_ext(4, p, len);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, 4, SHM_ERROR);
	/* past the end of its own block, by one byte */
	a.block = mine;
	a.offset = BLOCK_SIZE - 15;
	p = shm_payload(&a, &len);
	pack_call_ext(5, p, len);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, 5, SHM_ERROR);
	/* deep inside the params: a tuple in kwargs */
	sbt_pack_request(&sbt_pk, 6, "call", 4);
	sbt_pack_str(&sbt_pk, "sbfixtures");
	sbt_pack_str(&sbt_pk, "identity");
	msgpack_pack_array(&sbt_pk, 0);
	msgpack_pack_map(&sbt_pk, 1);
	sbt_pack_str(&sbt_pk, "x");
	pack_tuple_with(&sbt_pk, p, len);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, 6, SHM_ERROR);
	/* a detached block */
	ck_assert_ptr_null(sbt_obj_errtype(detach(&r, 7, mine)));
	a.offset = 0;
	p = shm_payload(&a, &len);
	pack_call_ext(8, p, len);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, 8, SHM_ERROR);
	/* a connection that attached nothing */
	a.block = theirs;
	p = shm_payload(&a, &len);
	pack_call_ext(9, p, len);
	ck_assert_int_eq(sbt_raw_send_sbuf(&sbt_witness, &sbt_sb), 0);
	expect_error(&sbt_witness, 9, SHM_ERROR);
	/* the owner is not disturbed */
	ck_assert_int_eq(sbt_raw_ping(&other, 2), 0);
	sbt_raw_close(&other);
	sbt_raw_close(&r);
	sbt_wire_check_others();
}
END_TEST

START_TEST(test_fds_released)
{
	struct sbt_raw	 r[3], waiting, bad;
	int		 base, i, fd, fds[10];
	int64_t		 deadline;

	ck_assert_int_eq(sbt_raw_ping(&sbt_witness, 2), 0);
	base = daemon_fds();
	for (i = 0; i < 3; i++) {
		sbt_raw_open(&sbt_d, &r[i]);
		attach_ok(&r[i], 1, BLOCK_SIZE);
		attach_ok(&r[i], 2, 2 * BLOCK_SIZE);
	}
	/* descriptors still waiting for an attach */
	sbt_raw_open(&sbt_d, &waiting);
	fd = make_memfd(BLOCK_SIZE, 1);
	for (i = 0; i < 3; i++) {
		sbt_pack_request(&sbt_pk, (uint32_t)i + 1, "ping", 0);
		ck_assert_int_eq(send_fds(&waiting, &fd, 1), 0);
		response(&waiting, (uint32_t)i + 1);
	}
	close(fd);
	ck_assert_int_ge(daemon_fds(), base + 3 * 3 + 1 + 3);
	/* and a connection that sent too many at once */
	sbt_raw_open(&sbt_d, &bad);
	for (i = 0; i < 10; i++)
		fds[i] = make_memfd(BLOCK_SIZE, 1);
	sbt_pack_request(&sbt_pk, 1, "ping", 0);
	send_fds(&bad, fds, 10);
	expect_closed(&bad);
	sbt_raw_close(&bad);
	for (i = 0; i < 10; i++)
		close(fds[i]);
	for (i = 0; i < 3; i++)
		sbt_raw_close(&r[i]);
	sbt_raw_close(&waiting);
	deadline = sbt_now_ms() + FDS_MS;
	while (daemon_fds() != base && sbt_now_ms() < deadline)
		usleep(10000);
	ck_assert_int_eq(daemon_fds(), base);
	sbt_wire_check_others();
}
END_TEST

/* Whether o is the response [1, msgid, error, result]. */
static int
is_answer(const msgpack_object *o, uint32_t msgid)
{
	return (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 4 &&
	    o->via.array.ptr[0].via.u64 == SB_MSG_RESPONSE &&
	    o->via.array.ptr[1].via.u64 == msgid);
}

/*
 * A request queued behind its session's running stream whose block is
 * detached meanwhile: it fails with SharedMemoryError when it would start,
 * answered once, and the worker serves on.
 */
START_TEST(test_detach_while_queued)
{
	struct sbt_raw		 r;
	const msgpack_object	*o, *p;
	char			 marker[PATH_MAX];
	uint64_t		 b;
	int			 items = 0;

	ck_assert_int_lt(snprintf(marker, sizeof marker, "%s/stall.closed",
	    sbt_d.dir), (int)sizeof marker);
	sbt_raw_open(&sbt_d, &r);
	open_session(&r, 1, "shmqueue");
	b = attach_ok(&r, 2, BLOCK_SIZE);
	/* a stream that yields one item, then stalls: nothing goes ahead */
	sbt_pack_request(&sbt_pk, 3, "stream", 5);
	sbt_pack_str(&sbt_pk, "sbstream");
	sbt_pack_str(&sbt_pk, "stall");
	msgpack_pack_array(&sbt_pk, 1);
	sbt_pack_str(&sbt_pk, marker);
	msgpack_pack_nil(&sbt_pk);
	msgpack_pack_map(&sbt_pk, 1);
	sbt_pack_str(&sbt_pk, "session");
	sbt_pack_str(&sbt_pk, "shmqueue");
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	while (!items) {
		ck_assert_int_eq(sbt_raw_recv(&r, SBT_IO_TIMEOUT_MS, &o), 1);
		ck_assert_msg(!is_answer(o, 3), "the stream ended");
		p = o->via.array.ptr;
		items = o->via.array.size == 3 &&
		    sbt_obj_streq(&p[1], "stream.items");
	}
	/* queued behind it, in the same session */
	sbt_pack_request(&sbt_pk, 4, "call", 5);
	sbt_pack_str(&sbt_pk, "builtins");
	sbt_pack_str(&sbt_pk, "len");
	msgpack_pack_array(&sbt_pk, 1);
	pack_ext12(&sbt_pk, b, 0, 16);
	msgpack_pack_nil(&sbt_pk);
	msgpack_pack_map(&sbt_pk, 1);
	sbt_pack_str(&sbt_pk, "session");
	sbt_pack_str(&sbt_pk, "shmqueue");
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	ck_assert_ptr_null(sbt_obj_errtype(detach(&r, 5, b)));
	/* the stream ends: the queued call would start */
	sbt_pack_request(&sbt_pk, 6, "cancel", 1);
	msgpack_pack_uint32(&sbt_pk, 3);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	expect_error(&r, 4, SHM_ERROR);
	/* once: nothing more for it before the ping's answer */
	sbt_pack_request(&sbt_pk, 7, "ping", 0);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	do {
		ck_assert_int_eq(sbt_raw_recv(&r, SBT_IO_TIMEOUT_MS, &o), 1);
		ck_assert_msg(!is_answer(o, 4),
		    "a second answer to the queued call");
	} while (!is_answer(o, 7));
	/* the session's worker serves on */
	sbt_pack_request(&sbt_pk, 8, "call", 5);
	sbt_pack_str(&sbt_pk, "builtins");
	sbt_pack_str(&sbt_pk, "abs");
	msgpack_pack_array(&sbt_pk, 1);
	msgpack_pack_int(&sbt_pk, -3);
	msgpack_pack_nil(&sbt_pk);
	msgpack_pack_map(&sbt_pk, 1);
	sbt_pack_str(&sbt_pk, "session");
	sbt_pack_str(&sbt_pk, "shmqueue");
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	o = response(&r, 8);
	ck_assert_ptr_null(sbt_obj_errtype(o));
	ck_assert_int_eq(o->via.array.ptr[3].via.i64, 3);
	sbt_raw_close(&r);
	sbt_wire_check_others();
}
END_TEST

/*
 * With tests/shmfake as the worker: what the daemon sends a worker. The
 * fake answers each request with what it has been sent (see shmfake.c).
 */
static void
fake_env_setup(void)
{
	setenv("SNAKEBRIDGE_WORKER", sbt_builddir_path("tests/shmfake"), 1);
}

static void
fake_env_teardown(void)
{
	unsetenv("SNAKEBRIDGE_WORKER");
}

/*
 * call fake.fn(ext 12 of each of the n blocks) in session (automatic when
 * NULL): the result map (fails the test on an error unless err is set,
 * where the error type is stored).
 */
static const msgpack_object *
fake_call(struct sbt_raw *r, uint32_t msgid, const char *fn,
    const char *session, const uint64_t *blocks, size_t n, const char **err)
{
	const msgpack_object	*o;
	size_t			 i;

	sbt_pack_request(&sbt_pk, msgid, "call", session != NULL ? 5 : 3);
	sbt_pack_str(&sbt_pk, "fake");
	sbt_pack_str(&sbt_pk, fn);
	msgpack_pack_array(&sbt_pk, n);
	for (i = 0; i < n; i++)
		pack_ext12(&sbt_pk, blocks[i], 0, 16);
	if (session != NULL) {
		msgpack_pack_nil(&sbt_pk);
		msgpack_pack_map(&sbt_pk, 1);
		sbt_pack_str(&sbt_pk, "session");
		sbt_pack_str(&sbt_pk, session);
	}
	ck_assert_int_eq(sbt_raw_send_sbuf(r, &sbt_sb), 0);
	o = response(r, msgid);
	if (err != NULL) {
		*err = sbt_obj_errtype(o);
		if (*err != NULL)
			return (NULL);
	} else
		ck_assert_msg(sbt_obj_errtype(o) == NULL, "call %u: %s",
		    msgid, sbt_obj_errtype(o));
	return (&o->via.array.ptr[3]);
}

static uint64_t
fake_uint(const msgpack_object *res, const char *key)
{
	const msgpack_object	*v = sbt_obj_get(res, key);

	ck_assert_msg(v != NULL && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER,
	    "%s is not a uint", key);
	return (v->via.u64);
}

/* How many of the packets the fake got were for block (and fine). */
static int
fake_got(const msgpack_object *res, uint64_t block, uint64_t size,
    uint64_t conn)
{
	const msgpack_object	*l = sbt_obj_get(res, "blocks"), *e;
	uint32_t		 i;
	int			 n = 0;

	ck_assert_ptr_nonnull(l);
	for (i = 0; i < l->via.array.size; i++) {
		e = l->via.array.ptr[i].via.array.ptr;
		if (e[0].via.u64 != block)
			continue;
		ck_assert_uint_eq(e[1].via.u64, size);
		if (conn != 0)
			ck_assert_uint_eq(e[2].via.u64, conn);
		ck_assert_msg(e[3].via.u64 == 1, "block %llu: no usable fd",
		    (unsigned long long)block);
		n++;
	}
	return (n);
}

/* Whether the fake was told to forget block. */
static int
fake_detached(const msgpack_object *res, uint64_t block)
{
	const msgpack_object	*l = sbt_obj_get(res, "detached");
	uint32_t		 i;

	ck_assert_ptr_nonnull(l);
	for (i = 0; i < l->via.array.size; i++) {
		if (l->via.array.ptr[i].via.u64 == block)
			return (1);
	}
	return (0);
}

START_TEST(test_fake_blocks)
{
	struct sbt_raw		 r;
	const msgpack_object	*res;
	uint64_t		 a, b, conn;

	sbt_raw_open(&sbt_d, &r);
	/* without blocks: the four elements of old */
	res = fake_call(&r, 1, "read", NULL, NULL, 0, NULL);
	ck_assert_uint_eq(fake_uint(res, "elements"), 4);
	ck_assert_int_eq(sbt_obj_get(res, "conn")->type, MSGPACK_OBJECT_NIL);
	a = attach_ok(&r, 2, BLOCK_SIZE);
	b = attach_ok(&r, 3, 64);
	/* holding blocks: five, the block packet came first */
	res = fake_call(&r, 4, "read", NULL, &a, 1, NULL);
	ck_assert_uint_eq(fake_uint(res, "elements"), 5);
	conn = fake_uint(res, "conn");
	ck_assert_int_eq(fake_got(res, a, BLOCK_SIZE, conn), 1);
	ck_assert_int_eq(fake_got(res, b, 64, conn), 0);
	/* given once per worker process */
	res = fake_call(&r, 5, "read", NULL, (uint64_t[]){ a, b, a }, 3,
	    NULL);
	ck_assert_int_eq(fake_got(res, a, BLOCK_SIZE, conn), 1);
	ck_assert_int_eq(fake_got(res, b, 64, conn), 1);
	res = fake_call(&r, 6, "read", NULL, NULL, 0, NULL);
	ck_assert_uint_eq(fake_uint(res, "elements"), 5);
	ck_assert_uint_eq(fake_uint(res, "conn"), conn);
	/* detached: the worker is told, before the next request */
	ck_assert_ptr_null(sbt_obj_errtype(detach(&r, 7, a)));
	res = fake_call(&r, 8, "read", NULL, NULL, 0, NULL);
	ck_assert(fake_detached(res, a));
	ck_assert(!fake_detached(res, b));
	ck_assert_uint_eq(fake_uint(res, "elements"), 5);
	ck_assert_ptr_null(sbt_obj_errtype(detach(&r, 9, b)));
	res = fake_call(&r, 10, "read", NULL, NULL, 0, NULL);
	ck_assert(fake_detached(res, b));
	ck_assert_uint_eq(fake_uint(res, "elements"), 4);
	sbt_raw_close(&r);
	sbt_wire_check_others();
}
END_TEST

START_TEST(test_fake_close_detaches)
{
	struct sbt_raw		 x, y;
	const msgpack_object	*res;
	uint64_t		 b;
	uint32_t		 id = 10;
	int64_t			 deadline;

	sbt_raw_open(&sbt_d, &x);
	sbt_raw_open(&sbt_d, &y);
	open_session(&y, 1, "shmclose");
	b = attach_ok(&x, 1, BLOCK_SIZE);
	res = fake_call(&x, 2, "read", "shmclose", &b, 1, NULL);
	ck_assert_int_eq(fake_got(res, b, BLOCK_SIZE, 0), 1);
	sbt_raw_close(&x);
	deadline = sbt_now_ms() + FDS_MS;
	do {
		res = fake_call(&y, id++, "read", "shmclose", NULL, 0, NULL);
		if (fake_detached(res, b))
			break;
		usleep(10000);
	} while (sbt_now_ms() < deadline);
	ck_assert_msg(fake_detached(res, b), "no shm.detach for block %llu "
	    "after its connection closed", (unsigned long long)b);
	sbt_raw_close(&y);
	sbt_wire_check_others();
}
END_TEST

/* A restarted worker has no blocks: it is given them again when needed. */
START_TEST(test_fake_restart)
{
	struct sbt_raw		 r;
	const msgpack_object	*res;
	const char		*err;
	uint64_t		 a;
	uint32_t		 id = 10;
	int64_t			 deadline;

	sbt_raw_open(&sbt_d, &r);
	a = attach_ok(&r, 1, BLOCK_SIZE);
	res = fake_call(&r, 2, "read", NULL, &a, 1, NULL);
	ck_assert_int_eq(fake_got(res, a, BLOCK_SIZE, 0), 1);
	sbt_pack_request(&sbt_pk, 3, "worker.restart", 1);
	sbt_pack_str(&sbt_pk, "default");
	ck_assert_int_eq(sbt_raw_send_sbuf(&r, &sbt_sb), 0);
	ck_assert_ptr_null(sbt_obj_errtype(response(&r, 3)));
	/* until a new process answers */
	deadline = sbt_now_ms() + FDS_MS;
	do {
		res = fake_call(&r, id++, "read", NULL, NULL, 0, &err);
		if (res != NULL && fake_got(res, a, BLOCK_SIZE, 0) == 0)
			break;
		usleep(20000);
	} while (sbt_now_ms() < deadline);
	ck_assert_msg(res != NULL && fake_got(res, a, BLOCK_SIZE, 0) == 0,
	    "no new worker process answered");
	res = fake_call(&r, id++, "read", NULL, &a, 1, NULL);
	ck_assert_int_eq(fake_got(res, a, BLOCK_SIZE, 0), 1);
	sbt_raw_close(&r);
	sbt_wire_check_others();
}
END_TEST

#define FULL_CONNS	64

/*
 * A worker that does not read its block channel: once it is full, a
 * request that needs a block there fails with SharedMemoryError, once; the
 * worker serves on, and gets the blocks when it reads again.
 */
START_TEST(test_fake_channel_full)
{
	static struct sbt_raw	 r[FULL_CONNS];
	static uint64_t		 blocks[FULL_CONNS][SB_SHM_BLOCKS_MAX];
	struct sbt_raw		 y;
	const msgpack_object	*res, *o;
	const char		*err = NULL;
	uint32_t		 i, j, full = 0;
	int			 fd = make_memfd(BLOCK_SIZE, 1), given = 0;

	sbt_raw_open(&sbt_d, &y);
	open_session(&y, 1, "shmfull");
	for (i = 0; i < FULL_CONNS && err == NULL; i++) {
		sbt_raw_open(&sbt_d, &r[i]);
		for (j = 0; j < SB_SHM_BLOCKS_MAX; j++) {
			o = attach(&r[i], j + 1, BLOCK_SIZE, fd);
			ck_assert_ptr_null(sbt_obj_errtype(o));
			blocks[i][j] = sbt_obj_get(&o->via.array.ptr[3],
			    "block")->via.u64;
		}
		res = fake_call(&r[i], 100, "noread", "shmfull", blocks[i],
		    SB_SHM_BLOCKS_MAX, &err);
		if (err == NULL)
			given += SB_SHM_BLOCKS_MAX;
		full = i;
	}
	close(fd);
	ck_assert_msg(err != NULL, "the block channel never filled up");
	ck_assert_str_eq(err, SHM_ERROR);
	/* one answer only: the next message is the ping's */
	sbt_pack_request(&sbt_pk, 101, "ping", 0);
	ck_assert_int_eq(sbt_raw_send_sbuf(&r[full], &sbt_sb), 0);
	ck_assert_int_eq(sbt_raw_recv(&r[full], SBT_IO_TIMEOUT_MS, &o), 1);
	ck_assert_msg(o->via.array.ptr[1].via.u64 == 101,
	    "a second answer to the failed request");
	/* the worker serves on; reading, it gets what was sent */
	res = fake_call(&y, 2, "read", "shmfull", NULL, 0, NULL);
	ck_assert_int_ge(sbt_obj_get(res, "blocks")->via.array.size, given);
	/* the failed request again: the blocks not given yet go now, once */
	res = fake_call(&r[full], 102, "read", "shmfull", blocks[full],
	    SB_SHM_BLOCKS_MAX, NULL);
	for (i = 0; i <= full; i++) {
		for (j = 0; j < SB_SHM_BLOCKS_MAX; j++)
			ck_assert_int_eq(fake_got(res, blocks[i][j],
			    BLOCK_SIZE, 0), 1);
	}
	for (i = 0; i <= full; i++)
		sbt_raw_close(&r[i]);
	sbt_raw_close(&y);
	sbt_wire_check_others();
}
END_TEST

static Suite *
shmwire_suite(void)
{
	Suite	*s = suite_create("shmwire");
	TCase	*tc = tcase_create("shmwire");

	sbt_tcase_add_daemon(tc, NULL);
	tcase_add_checked_fixture(tc, sbt_wire_setup,
	    sbt_wire_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_attach_detach);
	tcase_add_test(tc, test_hello_limit);
	tcase_add_test(tc, test_attach_refused);
	tcase_add_test(tc, test_attach_bad_params);
	tcase_add_test(tc, test_block_limit);
	tcase_add_test(tc, test_fds_waiting);
	tcase_add_test(tc, test_fds_one_message);
	tcase_add_test(tc, test_ext12_malformed);
	tcase_add_test(tc, test_ext12_refused);
	tcase_add_test(tc, test_fds_released);
	tcase_add_test(tc, test_detach_while_queued);
	suite_add_tcase(s, tc);

	tc = tcase_create("fakeworker");
	tcase_add_unchecked_fixture(tc, fake_env_setup, fake_env_teardown);
	sbt_tcase_add_daemon(tc, NULL);
	tcase_add_checked_fixture(tc, sbt_wire_setup,
	    sbt_wire_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fake_blocks);
	tcase_add_test(tc, test_fake_close_detaches);
	tcase_add_test(tc, test_fake_restart);
	tcase_add_test(tc, test_fake_channel_full);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (sbt_run_suite(shmwire_suite()));
}
