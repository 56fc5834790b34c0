/*
 * check_shmworker.c: the worker's side of shared memory, driven as the
 * daemon drives it: the worker binary with its channel on fd 3 and its block
 * channel (SOCK_SEQPACKET) on fd 4, blocks handed over as memfds, requests
 * with the connection id as their fifth element. What comes back: arrays
 * over the client's memory (sums, writes seen in the memfd), results in a
 * block as ext 12 with their offset, others as ext 8, and
 * snakebridge.SharedMemoryError for every ext 12 that does not fit.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <msgpack.h>

#include "sbproto.h"
#include "shmarray.h"
#include "wkfix.h"

#define SID		3
#define CONN		5	/* the connection that attaches the blocks */
#define OTHER		6	/* another connection */
#define NITEMS		512	/* int64 items in a test block */
#define BLOCK_BYTES	(NITEMS * 8)

/* A block made by the test: a memfd and the test's own mapping of it. */
struct blk {
	int		 fd;
	int64_t		*p;	/* NITEMS items, p[i] == i to begin with */
};

/* Wait for ready; numpy is required, as by the codec suite. */
static void
shm_ready(struct wk *w)
{
	const msgpack_object	*np = wk_map_get(wk_ready(w), "numpy");

	ck_assert_msg(np != NULL && np->type == MSGPACK_OBJECT_BOOLEAN &&
	    np->via.boolean, "numpy is required (scripts/setup installs it)");
}

/*
 * A request being packed: params are [SID, ...] and conn is its fifth
 * element (-1: a four-element request).
 */
struct req {
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	int64_t		 conn;
};

static void
req_begin(struct req *r, uint32_t id, const char *method, size_t nparams,
    int64_t conn)
{
	msgpack_sbuffer_init(&r->sb);
	msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
	r->conn = conn;
	msgpack_pack_array(&r->pk, conn < 0 ? 4 : 5);
	msgpack_pack_int(&r->pk, SB_MSG_REQUEST);
	msgpack_pack_uint32(&r->pk, id);
	msgpack_pack_str_with_body(&r->pk, method, strlen(method));
	msgpack_pack_array(&r->pk, nparams + 1);
	msgpack_pack_uint64(&r->pk, SID);
}

static void
pack_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* A call of module.fn with nargs args to pack next (kwargs: nil). */
static void
req_call(struct req *r, uint32_t id, const char *module, const char *fn,
    size_t nargs, int64_t conn)
{
	req_begin(r, id, "call", 3, conn);
	pack_str(&r->pk, module);
	pack_str(&r->pk, fn);
	msgpack_pack_array(&r->pk, nargs);
}

static void
req_send(struct wk *w, struct req *r)
{
	if (r->conn >= 0)
		msgpack_pack_uint64(&r->pk, (uint64_t)r->conn);
	wk_write(w, r->sb.data, r->sb.size);
	msgpack_sbuffer_destroy(&r->sb);
}

static const msgpack_object *
req_finish(struct wk *w, struct req *r, uint32_t id)
{
	const msgpack_object	*res, *err;

	req_send(w, r);
	err = wk_response(w, id, &res);
	ck_assert_msg(err == NULL, "request %u failed", id);
	return (res);
}

/* The request must fail with error type want, whose message has text. */
static void
req_fails(struct wk *w, struct req *r, uint32_t id, const char *want,
    const char *text)
{
	const msgpack_object	*res, *err, *t, *msg;

	req_send(w, r);
	err = wk_response(w, id, &res);
	ck_assert_msg(err != NULL, "request %u did not fail", id);
	t = wk_map_get(err, "type");
	msg = wk_map_get(err, "message");
	ck_assert(t != NULL && msg != NULL && msg->type == MSGPACK_OBJECT_STR);
	ck_assert_msg(wk_str_is(t, want), "request %u: %.*s (%.*s), not %s", id,
	    (int)t->via.str.size, t->via.str.ptr, (int)msg->via.str.size,
	    msg->via.str.ptr, want);
	ck_assert_msg(text == NULL || memmem(msg->via.str.ptr,
	    msg->via.str.size, text, strlen(text)) != NULL,
	    "request %u: message %.*s lacks %s", id, (int)msg->via.str.size,
	    msg->via.str.ptr, text);
}

/* An ext 12 value: int64 items from item first of block, of shape. */
static void
pack_shm_shape(msgpack_packer *pk, uint64_t block, uint64_t first,
    size_t ndim, const uint64_t *shape)
{
	struct sb_shmarray	 a;
	size_t			 i;

	memset(&a, 0, sizeof a);
	snprintf(a.dtype, sizeof a.dtype, "<i8");
	a.ndim = ndim;
	a.nbytes = 8;
	for (i = 0; i < ndim; i++) {
		a.shape[i] = shape[i];
		a.nbytes *= shape[i];
	}
	a.block = block;
	a.offset = first * 8;
	ck_assert_int_eq(sb_shmarray_pack(pk, &a), 0);
}

/* An ext 12 value: n int64 items from item first of block (1-D). */
static void
pack_shm(msgpack_packer *pk, uint64_t block, uint64_t first, uint64_t n)
{
	pack_shm_shape(pk, block, first, 1, &n);
}

/* Result is ext 12 at byte offset of block with n items of dtype "<i8". */
static void
res_is_shm(const msgpack_object *res, uint64_t block, uint64_t offset,
    uint64_t n)
{
	struct sb_shmarray	 a;

	ck_assert_int_eq(res->type, MSGPACK_OBJECT_EXT);
	ck_assert_int_eq(res->via.ext.type, SB_EXT_SHMARRAY);
	ck_assert_int_eq(sb_shmarray_decode(res->via.ext.ptr,
	    res->via.ext.size, &a), 0);
	ck_assert_str_eq(a.dtype, "<i8");
	ck_assert_uint_eq(a.block, block);
	ck_assert_uint_eq(a.offset, offset);
	ck_assert_uint_eq(a.nbytes, n * 8);
	ck_assert_uint_eq(a.ndim, 1);
	ck_assert_uint_eq(a.shape[0], n);
}

/*
 * Result is ext 8 [dtype "<i8", shape, bytes] of n items: item i equal to
 * want(i, arg).
 */
static void
res_is_copy(const msgpack_object *res, size_t n,
    int64_t (*want)(size_t, size_t), size_t arg)
{
	msgpack_unpacked	 u;
	const msgpack_object	*f;
	int64_t			 v;
	size_t			 i, off = 0;

	ck_assert_int_eq(res->type, MSGPACK_OBJECT_EXT);
	ck_assert_int_eq(res->via.ext.type, SB_EXT_NDARRAY);
	msgpack_unpacked_init(&u);
	ck_assert_int_eq(msgpack_unpack_next(&u, res->via.ext.ptr,
	    res->via.ext.size, &off), MSGPACK_UNPACK_SUCCESS);
	f = u.data.via.array.ptr;
	ck_assert(u.data.type == MSGPACK_OBJECT_ARRAY &&
	    u.data.via.array.size == 3 && wk_str_is(&f[0], "<i8"));
	ck_assert_uint_eq(f[2].via.bin.size, n * 8);
	for (i = 0; i < n; i++) {
		memcpy(&v, f[2].via.bin.ptr + i * 8, 8);
		ck_assert_int_eq(v, want(i, arg));
	}
	msgpack_unpacked_destroy(&u);
}

static int64_t
want_plus(size_t i, size_t k)
{
	return ((int64_t)(i + k));
}

/* Item i of 0, 1, 2, ... whose first item was set to k. */
static int64_t
want_first(size_t i, size_t k)
{
	return ((int64_t)(i == 0 ? k : i));
}

/* Item i of the transpose of an arg-column matrix of 0, 1, 2, ... */
static int64_t
want_transposed(size_t i, size_t cols)
{
	size_t	 rows = NITEMS / cols;

	return ((int64_t)((i % rows) * cols + i / rows));
}

/* A memfd of BLOCK_BYTES holding 0, 1, 2, ... sealed with seals. */
static void
blk_new(struct blk *b, int seals)
{
	size_t	 i;

	ck_assert_int_ge(b->fd = memfd_create("sbtest", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING), 0);
	ck_assert_int_eq(ftruncate(b->fd, BLOCK_BYTES), 0);
	b->p = mmap(NULL, BLOCK_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
	    b->fd, 0);
	ck_assert(b->p != MAP_FAILED);
	for (i = 0; i < NITEMS; i++)
		b->p[i] = (int64_t)i;
	if (!(seals & F_SEAL_WRITE)) {
		ck_assert_int_eq(fcntl(b->fd, F_ADD_SEALS, seals), 0);
		return;
	}
	/* No shared mapping may exist when writes are sealed. */
	munmap(b->p, BLOCK_BYTES);
	ck_assert_int_eq(fcntl(b->fd, F_ADD_SEALS, seals), 0);
	b->p = mmap(NULL, BLOCK_BYTES, PROT_READ, MAP_SHARED, b->fd, 0);
	ck_assert(b->p != MAP_FAILED);
}

static void
blk_free(struct blk *b)
{
	munmap(b->p, BLOCK_BYTES);
	close(b->fd);
}

/* One packet on the block channel: len bytes, nfd copies of fd. */
static void
send_packet(struct wk *w, const void *buf, size_t len, int fd, int nfd)
{
	union {
		struct cmsghdr	 h;
		char		 b[CMSG_SPACE(2 * sizeof(int))];
	} cm;
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*c;
	int		 fds[2] = { fd, fd };

	memset(&mh, 0, sizeof mh);
	memset(&cm, 0, sizeof cm);
	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfd > 0) {
		mh.msg_control = cm.b;
		mh.msg_controllen = CMSG_SPACE((size_t)nfd * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfd * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfd * sizeof(int));
	}
	ck_assert_int_eq(sendmsg(w->bfd, &mh, 0), (ssize_t)len);
}

/* Hand block id of size bytes, attached by conn, to the worker. */
static void
send_block(struct wk *w, uint64_t id, uint64_t size, uint64_t conn, int fd)
{
	struct sb_shmpacket	 p = { id, size, conn };
	uint8_t			 buf[SB_SHM_PACKET_LEN];

	sb_shmpacket_put(buf, &p);
	send_packet(w, buf, sizeof buf, fd, 1);
}

/* Send the notification [2, method, [arg]]. */
static void
send_notice(struct wk *w, const char *method, uint64_t arg)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_uint64(&pk, arg);
	wk_send(w, SB_MSG_NOTIFY, -1, method, &sb);
	msgpack_sbuffer_destroy(&sb);
}

/* numpy.sum over items [first, first + n) of block, as conn; must work. */
static int64_t
shm_sum(struct wk *w, uint32_t id, uint64_t block, uint64_t first,
    uint64_t n, int64_t conn)
{
	struct req		 r;
	const msgpack_object	*res;

	req_call(&r, id, "numpy", "sum", 1, conn);
	pack_shm(&r.pk, block, first, n);
	res = req_finish(w, &r, id);
	ck_assert_int_eq(res->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	return ((int64_t)res->via.u64);
}

/* The sum of 0 .. n-1 from item first on. */
static int64_t
sum_range(uint64_t first, uint64_t n)
{
	return ((int64_t)(n * first + n * (n - 1) / 2));
}

/* A ref to types.SimpleNamespace(a=<ext 12 of n items>), kept in *ref. */
static void
keep_in_ref(struct wk *w, uint32_t id, uint64_t block, uint64_t n,
    msgpack_sbuffer *ref)
{
	struct req		 r;
	const msgpack_object	*res;
	msgpack_packer		 pk;

	req_begin(&r, id, "call", 4, CONN);
	pack_str(&r.pk, "types");
	pack_str(&r.pk, "SimpleNamespace");
	msgpack_pack_nil(&r.pk);
	msgpack_pack_map(&r.pk, 1);
	pack_str(&r.pk, "a");
	pack_shm(&r.pk, block, 0, n);
	res = req_finish(w, &r, id);
	ck_assert(res->type == MSGPACK_OBJECT_EXT &&
	    res->via.ext.type == SB_EXT_REF);
	msgpack_sbuffer_init(ref);
	msgpack_packer_init(&pk, ref, msgpack_sbuffer_write);
	msgpack_pack_ext_with_body(&pk, res->via.ext.ptr, res->via.ext.size,
	    SB_EXT_REF);
}

/* attr [ref, "a"] as conn. */
static const msgpack_object *
ref_attr(struct wk *w, uint32_t id, const msgpack_sbuffer *ref, int64_t conn)
{
	struct req	 r;

	req_begin(&r, id, "attr", 2, conn);
	msgpack_sbuffer_write(&r.sb, ref->data, ref->size);
	pack_str(&r.pk, "a");
	return (req_finish(w, &r, id));
}

/* How many fds process pid has open. */
static int
count_fds(pid_t pid)
{
	char		 path[64];
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
	ck_assert_ptr_nonnull(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return (n);
}

/* How many mappings of the tests' memfds process pid has. */
static int
count_maps(pid_t pid)
{
	char		 path[64], line[512];
	FILE		*f;
	int		 n = 0;

	snprintf(path, sizeof path, "/proc/%ld/maps", (long)pid);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while (fgets(line, sizeof line, f) != NULL)
		n += strstr(line, "/memfd:sbtest") != NULL;
	fclose(f);
	return (n);
}

START_TEST(test_arrays_over_a_block)
{
	struct wk		 w;
	struct blk		 b;
	struct req		 r;
	const msgpack_object	*res;
	const uint64_t		 matrix[] = { 16, 32 };
	msgpack_sbuffer		 ref;
	uint32_t		 i;

	blk_new(&b, F_SEAL_SHRINK | F_SEAL_GROW);
	wk_start(&w, NULL, WK_SHM, -1);
	shm_ready(&w);
	send_block(&w, 1, BLOCK_BYTES, CONN, b.fd);
	ck_assert_int_eq(shm_sum(&w, 1, 1, 0, NITEMS, CONN),
	    sum_range(0, NITEMS));
	ck_assert_int_eq(shm_sum(&w, 2, 1, 100, 10, CONN),
	    sum_range(100, 10));
	/* The client writes; the worker sees it. */
	b.p[100] = 1000;
	ck_assert_int_eq(shm_sum(&w, 3, 1, 100, 10, CONN),
	    sum_range(100, 10) - 100 + 1000);
	b.p[100] = 100;

	/* ascontiguousarray(a) is a: the same bytes come back by reference */
	req_call(&r, 4, "numpy", "ascontiguousarray", 1, CONN);
	pack_shm(&r.pk, 1, 0, NITEMS);
	res_is_shm(req_finish(&w, &r, 4), 1, 0, NITEMS);
	req_call(&r, 5, "numpy", "ascontiguousarray", 1, CONN);
	pack_shm(&r.pk, 1, 100, 10);
	res_is_shm(req_finish(&w, &r, 5), 1, 800, 10);

	/* contiguous slices of it, each with its own offset */
	req_call(&r, 6, "numpy", "split", 2, CONN);
	pack_shm(&r.pk, 1, 0, NITEMS);
	msgpack_pack_int(&r.pk, 4);
	res = req_finish(&w, &r, 6);
	ck_assert(res->type == MSGPACK_OBJECT_ARRAY &&
	    res->via.array.size == 4);
	for (i = 0; i < 4; i++)
		res_is_shm(&res->via.array.ptr[i], 1, i * BLOCK_BYTES / 4,
		    NITEMS / 4);

	/* a transposed view is not C-contiguous: a copy, ext 8 */
	req_call(&r, 7, "numpy", "transpose", 1, CONN);
	pack_shm_shape(&r.pk, 1, 0, 2, matrix);
	res_is_copy(req_finish(&w, &r, 7), NITEMS, want_transposed, 32);

	/* a new array: ext 8 */
	req_call(&r, 8, "numpy", "add", 2, CONN);
	pack_shm(&r.pk, 1, 0, NITEMS);
	msgpack_pack_int(&r.pk, 3);
	res_is_copy(req_finish(&w, &r, 8), NITEMS, want_plus, 3);

	/* the worker writes into the client's memory */
	req_call(&r, 9, "numpy", "copyto", 2, CONN);
	pack_shm(&r.pk, 1, 10, 5);
	msgpack_pack_int(&r.pk, 7);
	ck_assert_int_eq(req_finish(&w, &r, 9)->type, MSGPACK_OBJECT_NIL);
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(b.p[i], i >= 10 && i < 15 ? 7 : (int64_t)i);

	/*
	 * An array kept in a ref comes back by reference to its own
	 * connection only; another connection gets a copy.
	 */
	keep_in_ref(&w, 10, 1, NITEMS, &ref);
	res_is_shm(ref_attr(&w, 11, &ref, CONN), 1, 0, NITEMS);
	res = ref_attr(&w, 12, &ref, OTHER);
	ck_assert_int_eq(res->via.ext.type, SB_EXT_NDARRAY);
	res = ref_attr(&w, 13, &ref, -1);
	ck_assert_int_eq(res->via.ext.type, SB_EXT_NDARRAY);

	/* stream items carry copies */
	req_begin(&r, 14, "stream", 3, CONN);
	pack_str(&r.pk, "builtins");
	pack_str(&r.pk, "iter");
	msgpack_pack_array(&r.pk, 1);
	msgpack_pack_array(&r.pk, 1);
	pack_shm(&r.pk, 1, 0, 4);
	req_send(&w, &r);
	res = wk_read(&w);
	ck_assert(res->type == MSGPACK_OBJECT_ARRAY &&
	    res->via.array.size == 3 &&
	    wk_str_is(&res->via.array.ptr[1], "stream.items"));
	res = &res->via.array.ptr[2].via.array.ptr[1];
	ck_assert(res->type == MSGPACK_OBJECT_ARRAY &&
	    res->via.array.size == 1);
	res_is_copy(&res->via.array.ptr[0], 4, want_plus, 0);
	ck_assert_ptr_null(wk_response(&w, 14, &res));
	msgpack_sbuffer_destroy(&ref);
	wk_finish(&w, 0);
	blk_free(&b);
}
END_TEST

/* An ext 12 whose payload is raw bytes (len of them). */
static void
call_raw_ext12(struct wk *w, uint32_t id, const void *p, size_t len)
{
	struct req	 r;

	req_call(&r, id, "numpy", "sum", 1, CONN);
	msgpack_pack_ext_with_body(&r.pk, p, len, SB_EXT_SHMARRAY);
	req_fails(w, &r, id, "snakebridge.SharedMemoryError", "ext 12");
}

/* An ext 12 of dtype, shape (ndim dims), offset, nbytes in block. */
static void
call_shm_bad(struct wk *w, uint32_t id, const char *dtype, size_t ndim,
    const uint64_t *shape, uint64_t block, uint64_t offset, uint64_t nbytes,
    int64_t conn, const char *text)
{
	struct sb_shmarray	 a;
	struct req		 r;

	memset(&a, 0, sizeof a);
	snprintf(a.dtype, sizeof a.dtype, "%s", dtype);
	a.ndim = ndim;
	memcpy(a.shape, shape, ndim * sizeof *shape);
	a.block = block;
	a.offset = offset;
	a.nbytes = nbytes;
	req_call(&r, id, "numpy", "sum", 1, conn);
	ck_assert_int_eq(sb_shmarray_pack(&r.pk, &a), 0);
	req_fails(w, &r, id, "snakebridge.SharedMemoryError", text);
}

START_TEST(test_ext12_that_does_not_fit)
{
	static const uint8_t	 junk[] = { 0xc1, 0x00, 0x01 };
	static const uint8_t	 short_arr[] = { 0x92, 0x01, 0x02 };
	static const uint8_t	 trailing[] = { 0x95, 0xa3, '<', 'i', '8',
	    0x91, 0x01, 0x01, 0x00, 0x08, 0xc0 };
	const uint64_t		 n[] = { NITEMS }, big[] = { UINT64_MAX, 2 };
	const uint64_t		 ten[] = { 10 }, zero[] = { 0 };
	struct wk		 w;
	struct blk		 b;

	blk_new(&b, F_SEAL_SHRINK);
	wk_start(&w, NULL, WK_SHM, -1);
	shm_ready(&w);
	send_block(&w, 1, BLOCK_BYTES, CONN, b.fd);
	call_shm_bad(&w, 1, "<i8", 1, n, 1, 0, BLOCK_BYTES, OTHER,
	    "another connection");
	call_shm_bad(&w, 2, "<i8", 1, n, 1, 0, BLOCK_BYTES, -1,
	    "another connection");
	call_shm_bad(&w, 3, "<i8", 1, n, 99, 0, BLOCK_BYTES, CONN,
	    "not attached");
	call_shm_bad(&w, 4, "<i8", 1, n, 1, 8, BLOCK_BYTES, CONN,
	    "past the end");
	call_shm_bad(&w, 5, "<i8", 1, ten, 1, 0, 88, CONN, "need 80 bytes");
	call_shm_bad(&w, 6, "<i8", 2, big, 1, 0, 16, CONN, "nbytes is 16");
	call_shm_bad(&w, 7, "zz", 1, ten, 1, 0, 80, CONN, "dtype");
	call_shm_bad(&w, 8, "|O", 1, ten, 1, 0, 80, CONN, "object");
	call_shm_bad(&w, 9, "<i8", 1, ten, 1, BLOCK_BYTES - 8, 80, CONN,
	    "past the end");
	call_shm_bad(&w, 10, "<i8", 1, zero, 1, UINT64_MAX - 8, 8, CONN,
	    "past the end");
	call_raw_ext12(&w, 11, junk, sizeof junk);
	call_raw_ext12(&w, 12, short_arr, sizeof short_arr);
	call_raw_ext12(&w, 13, trailing, sizeof trailing);
	call_raw_ext12(&w, 14, "", 0);
	/* still serving, the block still right */
	ck_assert_int_eq(shm_sum(&w, 15, 1, 0, NITEMS, CONN),
	    sum_range(0, NITEMS));
	/* no failure kept the block: detached, it is unmapped */
	ck_assert_int_eq(count_maps(w.pid), 1);
	send_notice(&w, "shm.detach", 1);
	call_shm_bad(&w, 16, "<i8", 1, ten, 1, 0, 80, CONN, "not attached");
	ck_assert_int_eq(count_maps(w.pid), 0);
	wk_finish(&w, 0);
	blk_free(&b);
}
END_TEST

START_TEST(test_detach)
{
	struct wk		 w;
	struct blk		 b, c;
	struct req		 r;
	msgpack_sbuffer		 ref;
	const uint64_t		 ten[] = { 10 };

	blk_new(&b, F_SEAL_SHRINK);
	blk_new(&c, F_SEAL_SHRINK);
	wk_start(&w, NULL, WK_SHM, -1);
	shm_ready(&w);
	send_block(&w, 2, BLOCK_BYTES, CONN, b.fd);
	keep_in_ref(&w, 1, 2, NITEMS, &ref);
	res_is_shm(ref_attr(&w, 2, &ref, CONN), 2, 0, NITEMS);
	send_notice(&w, "shm.detach", 2);
	call_shm_bad(&w, 3, "<i8", 1, ten, 2, 0, 80, CONN, "not attached");
	/* the array in the ref still reads the block, now as a copy */
	b.p[0] = 5;
	res_is_copy(ref_attr(&w, 4, &ref, CONN), NITEMS, want_first, 5);
	ck_assert_int_eq(count_maps(w.pid), 1);
	/* and the mapping goes with the ref */
	req_begin(&r, 6, "release", 1, CONN);
	msgpack_sbuffer_write(&r.sb, ref.data, ref.size);
	ck_assert_int_eq(req_finish(&w, &r, 6)->type, MSGPACK_OBJECT_BOOLEAN);
	ck_assert_int_eq(count_maps(w.pid), 0);

	/* a block detached before any request used it: read, then dropped */
	send_block(&w, 3, BLOCK_BYTES, CONN, c.fd);
	send_notice(&w, "shm.detach", 3);
	call_shm_bad(&w, 7, "<i8", 1, ten, 3, 0, 80, CONN, "not attached");
	ck_assert_int_eq(count_maps(w.pid), 0);
	/* unknown ids and odd params are harmless */
	send_notice(&w, "shm.detach", 1234);
	send_notice(&w, "shm.detach", UINT64_MAX);
	req_call(&r, 8, "math", "sqrt", 1, CONN);
	msgpack_pack_int(&r.pk, 16);
	ck_assert_int_eq(req_finish(&w, &r, 8)->type, MSGPACK_OBJECT_FLOAT64);
	msgpack_sbuffer_destroy(&ref);
	wk_finish(&w, 0);
	blk_free(&b);
	blk_free(&c);
}
END_TEST

START_TEST(test_sealed_block_is_read_only)
{
	struct wk	 w;
	struct blk	 b;
	struct req	 r;

	blk_new(&b, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
	wk_start(&w, NULL, WK_SHM, -1);
	shm_ready(&w);
	send_block(&w, 4, BLOCK_BYTES, CONN, b.fd);
	ck_assert_int_eq(shm_sum(&w, 1, 4, 0, NITEMS, CONN),
	    sum_range(0, NITEMS));
	req_call(&r, 2, "numpy", "copyto", 2, CONN);
	pack_shm(&r.pk, 4, 0, 10);
	msgpack_pack_int(&r.pk, 7);
	req_fails(&w, &r, 2, "ValueError", "read-only");
	ck_assert_int_eq(b.p[0], 0);
	req_call(&r, 3, "numpy", "ascontiguousarray", 1, CONN);
	pack_shm(&r.pk, 4, 8, 8);
	res_is_shm(req_finish(&w, &r, 3), 4, 64, 8);
	wk_finish(&w, 0);
	blk_free(&b);
}
END_TEST

START_TEST(test_bad_packets)
{
	struct sb_shmpacket	 p = { 8, BLOCK_BYTES, CONN };
	struct wk		 w;
	struct blk		 b, s;
	struct req		 r;
	uint8_t			 buf[SB_SHM_PACKET_LEN + 8];
	const uint64_t		 ten[] = { 10 };
	int			 fds, pv[2];

	blk_new(&b, F_SEAL_SHRINK);
	blk_new(&s, F_SEAL_SHRINK);
	wk_start(&w, NULL, WK_SHM, -1);
	shm_ready(&w);
	/* numpy imported first: what it opens is not counted */
	call_shm_bad(&w, 1, "<i8", 1, ten, 1, 0, 80, CONN, "not attached");
	fds = count_fds(w.pid);
	memset(buf, 0, sizeof buf);
	sb_shmpacket_put(buf, &p);
	send_packet(&w, buf, 10, b.fd, 1);			/* short */
	send_packet(&w, buf, sizeof buf, b.fd, 1);		/* long */
	send_packet(&w, buf, SB_SHM_PACKET_LEN, -1, 0);		/* no fd */
	send_packet(&w, buf, SB_SHM_PACKET_LEN, b.fd, 2);	/* two */
	p.block = 9;
	p.size = 2 * BLOCK_BYTES;				/* too big */
	sb_shmpacket_put(buf, &p);
	send_packet(&w, buf, SB_SHM_PACKET_LEN, b.fd, 1);
	p.block = 10;
	p.size = 0;						/* empty */
	sb_shmpacket_put(buf, &p);
	send_packet(&w, buf, SB_SHM_PACKET_LEN, b.fd, 1);
	ck_assert_int_eq(pipe(pv), 0);
	send_block(&w, 11, 16, CONN, pv[0]);			/* a pipe */
	send_block(&w, 12, 64, CONN, s.fd);			/* good */
	send_block(&w, 12, BLOCK_BYTES, OTHER, b.fd);		/* again */
	close(pv[0]);
	close(pv[1]);
	call_shm_bad(&w, 1, "<i8", 1, ten, 8, 0, 80, CONN, "not attached");
	call_shm_bad(&w, 2, "<i8", 1, ten, 9, 0, 80, CONN, "not attached");
	call_shm_bad(&w, 3, "<i8", 1, ten, 10, 0, 80, CONN, "not attached");
	call_shm_bad(&w, 4, "<i8", 1, ten, 11, 0, 80, CONN, "not attached");
	/* the good one kept its first size and owner */
	ck_assert_int_eq(shm_sum(&w, 5, 12, 0, 8, CONN), sum_range(0, 8));
	call_shm_bad(&w, 6, "<i8", 1, ten, 12, 0, 80, CONN, "past the end");
	/* every fd received was closed: the block is mapped, not held */
	ck_assert_int_eq(count_fds(w.pid), fds);
	req_call(&r, 7, "math", "sqrt", 1, CONN);
	msgpack_pack_int(&r.pk, 16);
	ck_assert_int_eq(req_finish(&w, &r, 7)->type, MSGPACK_OBJECT_FLOAT64);
	wk_finish(&w, 0);
	blk_free(&b);
	blk_free(&s);
}
END_TEST

START_TEST(test_no_block_channel)
{
	struct wk	 w;
	struct blk	 b;
	const uint64_t	 ten[] = { 10 };

	blk_new(&b, F_SEAL_SHRINK);
	wk_start(&w, "math", WK_BLOCKS, -1);
	shm_ready(&w);
	send_block(&w, 1, BLOCK_BYTES, CONN, b.fd);
	call_shm_bad(&w, 1, "<i8", 1, ten, 1, 0, 80, CONN, "not attached");
	wk_finish(&w, 0);
	blk_free(&b);
}
END_TEST

/*
 * A worker where numpy cannot be imported refuses ext 12 values with a
 * SharedMemoryError, each time, and goes on serving.
 */
START_TEST(test_no_numpy)
{
	struct sb_shmarray	 a = { .dtype = "<i8", .ndim = 1,
	    .shape = { 10 }, .block = 1, .nbytes = 80 };
	struct wk		 w;
	struct blk		 b;
	struct req		 r;
	uint32_t		 id;

	blk_new(&b, F_SEAL_SHRINK);
	wk_start(&w, NULL, WK_SHM, -1);
	shm_ready(&w);
	send_block(&w, 1, BLOCK_BYTES, CONN, b.fd);
	req_call(&r, 1, "builtins", "exec", 2, CONN);
	pack_str(&r.pk, "import sys; sys.modules['numpy'] = None");
	msgpack_pack_map(&r.pk, 0);	/* exec needs its globals here */
	req_finish(&w, &r, 1);
	for (id = 2; id < 4; id++) {
		req_call(&r, id, "builtins", "len", 1, CONN);
		ck_assert_int_eq(sb_shmarray_pack(&r.pk, &a), 0);
		req_fails(&w, &r, id, "snakebridge.SharedMemoryError",
		    "numpy is not available");
	}
	req_call(&r, 4, "math", "sqrt", 1, CONN);
	msgpack_pack_int(&r.pk, 16);
	ck_assert_int_eq(req_finish(&w, &r, 4)->type, MSGPACK_OBJECT_FLOAT64);
	wk_finish(&w, 0);
	blk_free(&b);
}
END_TEST

/*
 * The callback [0, cid, "callback", [SID, cb, args, kwargs]] the worker
 * sends: its cid; its first arg must be a copy (ext 8).
 */
static uint32_t
read_callback(struct wk *w)
{
	const msgpack_object	*m = wk_read(w), *p;

	ck_assert(m->type == MSGPACK_OBJECT_ARRAY &&
	    m->via.array.size == 4 &&
	    m->via.array.ptr[0].via.u64 == SB_MSG_REQUEST &&
	    wk_str_is(&m->via.array.ptr[2], "callback"));
	p = &m->via.array.ptr[3];
	ck_assert(p->via.array.size == 4 &&
	    p->via.array.ptr[2].type == MSGPACK_OBJECT_ARRAY);
	ck_assert_int_eq(p->via.array.ptr[2].via.array.ptr[0].via.ext.type,
	    SB_EXT_NDARRAY);
	return ((uint32_t)m->via.array.ptr[1].via.u64);
}

/* Answer callback cid with an int, or with an ext 12 of block. */
static void
answer_callback(struct wk *w, uint32_t cid, int64_t v, uint64_t block)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, SB_MSG_RESPONSE);
	msgpack_pack_uint32(&pk, cid);
	msgpack_pack_nil(&pk);
	if (block != 0)
		pack_shm(&pk, block, 0, 4);
	else
		msgpack_pack_int64(&pk, v);
	wk_write(w, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

/* max([a, b], key=callback 1) as conn: a = items 0-9, b = items 10-19. */
static void
req_max_by_callback(struct req *r, uint32_t id, uint64_t block)
{
	req_begin(r, id, "call", 4, CONN);
	pack_str(&r->pk, "builtins");
	pack_str(&r->pk, "max");
	msgpack_pack_array(&r->pk, 1);
	msgpack_pack_array(&r->pk, 2);
	pack_shm(&r->pk, block, 0, 10);
	pack_shm(&r->pk, block, 10, 10);
	msgpack_pack_map(&r->pk, 1);
	pack_str(&r->pk, "key");
	msgpack_pack_ext_with_body(&r->pk, "\x01", 1, SB_EXT_CALLBACK);
}

START_TEST(test_nested_and_ahead_keep_their_connection)
{
	struct wk		 w;
	struct blk		 b, o;
	struct req		 r, nested;
	const msgpack_object	*res, *err;
	uint32_t		 cid;

	blk_new(&b, F_SEAL_SHRINK);
	blk_new(&o, F_SEAL_SHRINK);
	wk_start(&w, NULL, WK_SHM, -1);
	shm_ready(&w);
	send_block(&w, 1, BLOCK_BYTES, CONN, b.fd);
	send_block(&w, 2, BLOCK_BYTES, OTHER, o.fd);

	/*
	 * While the outer call (CONN) waits for its callback, a request of
	 * OTHER runs nested; the outer result is still CONN's: ext 12.
	 */
	req_max_by_callback(&r, 1, 1);
	req_send(&w, &r);
	cid = read_callback(&w);
	req_call(&nested, 2, "numpy", "ascontiguousarray", 1, OTHER);
	pack_shm(&nested.pk, 2, 4, 4);
	res_is_shm(req_finish(&w, &nested, 2), 2, 32, 4);
	answer_callback(&w, cid, 1, 0);
	answer_callback(&w, read_callback(&w), 2, 0);
	err = wk_response(&w, 1, &res);
	ck_assert_ptr_null(err);
	res_is_shm(res, 1, 80, 10);

	/* a callback's result may not be in a block */
	req_max_by_callback(&r, 3, 1);
	req_send(&w, &r);
	answer_callback(&w, read_callback(&w), 0, 1);
	err = wk_response(&w, 3, &res);
	ck_assert(err != NULL && wk_str_is(wk_map_get(err, "type"),
	    "snakebridge.SharedMemoryError"));

	/* requests sent ahead, each with its connection */
	req_call(&r, 0x80000001U, "numpy", "ascontiguousarray", 1, CONN);
	pack_shm(&r.pk, 1, 2, 3);
	req_call(&nested, 0x80000002U, "numpy", "ascontiguousarray", 1,
	    OTHER);
	pack_shm(&nested.pk, 2, 5, 3);
	req_send(&w, &r);
	req_send(&w, &nested);
	ck_assert_ptr_null(wk_response(&w, 0x80000001U, &res));
	res_is_shm(res, 1, 16, 3);
	ck_assert_ptr_null(wk_response(&w, 0x80000002U, &res));
	res_is_shm(res, 2, 40, 3);
	wk_finish(&w, 0);
	blk_free(&b);
	blk_free(&o);
}
END_TEST

/*
 * Neither channel is inherited by a program that Python code runs: a child
 * holding the block channel could take the blocks meant for the worker.
 */
START_TEST(test_channels_not_inherited)
{
	struct wk		 w;
	struct req		 r;
	const msgpack_object	*res;
	int			 fd;

	wk_start(&w, NULL, WK_SHM, -1);
	shm_ready(&w);
	for (fd = 3; fd <= 4; fd++) {
		req_call(&r, (uint32_t)fd, "os", "get_inheritable", 1, -1);
		msgpack_pack_int(&r.pk, fd);
		res = req_finish(&w, &r, (uint32_t)fd);
		ck_assert_msg(res->type == MSGPACK_OBJECT_BOOLEAN &&
		    !res->via.boolean, "fd %d is inherited", fd);
	}
	wk_finish(&w, 0);
}
END_TEST

/*
 * A request sent ahead that carries its connection (five elements) waits
 * for the outer one, callback and all, like a four-element one: it is not
 * run nested in the callback's wait, and it is answered after the outer.
 */
START_TEST(test_ahead_with_connection_waits)
{
	struct wk		 w;
	struct blk		 b;
	struct req		 r, ahead;
	const msgpack_object	*res;
	uint32_t		 cid;

	blk_new(&b, F_SEAL_SHRINK);
	wk_start(&w, NULL, WK_SHM, -1);
	shm_ready(&w);
	send_block(&w, 1, BLOCK_BYTES, CONN, b.fd);
	req_max_by_callback(&r, 1, 1);
	req_send(&w, &r);
	cid = read_callback(&w);
	req_call(&ahead, 0x80000001U, "numpy", "ascontiguousarray", 1, CONN);
	pack_shm(&ahead.pk, 1, 2, 3);
	req_send(&w, &ahead);
	answer_callback(&w, cid, 1, 0);
	/* the next message is the outer call's second callback */
	answer_callback(&w, read_callback(&w), 2, 0);
	res = wk_read(&w);
	ck_assert(res->type == MSGPACK_OBJECT_ARRAY &&
	    res->via.array.size == 4 &&
	    res->via.array.ptr[0].via.u64 == SB_MSG_RESPONSE);
	ck_assert_uint_eq(res->via.array.ptr[1].via.u64, 1);
	ck_assert_ptr_null(wk_response(&w, 0x80000001U, &res));
	res_is_shm(res, 1, 16, 3);
	wk_finish(&w, 0);
	blk_free(&b);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("shmworker");
	TCase	*tc = tcase_create("worker");
	SRunner	*sr;
	int	 failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_arrays_over_a_block);
	tcase_add_test(tc, test_ext12_that_does_not_fit);
	tcase_add_test(tc, test_detach);
	tcase_add_test(tc, test_sealed_block_is_read_only);
	tcase_add_test(tc, test_bad_packets);
	tcase_add_test(tc, test_no_block_channel);
	tcase_add_test(tc, test_no_numpy);
	tcase_add_test(tc, test_nested_and_ahead_keep_their_connection);
	tcase_add_test(tc, test_ahead_with_connection_waits);
	tcase_add_test(tc, test_channels_not_inherited);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
