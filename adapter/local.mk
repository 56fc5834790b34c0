# adapter/: snakebridge-worker. Everything but main() lives in a convenience
# library so that the codec unit tests can link it.
noinst_LTLIBRARIES += adapter/libsbadapter.la
adapter_libsbadapter_la_SOURCES = \
	adapter/adapter.h \
	adapter/cache.c \
	adapter/callback.c \
	adapter/channel.c \
	adapter/codec_decode.c \
	adapter/codec_encode.c \
	adapter/dispatch.c \
	adapter/dropsig.c \
	adapter/interrupt.c \
	adapter/msgbuf.c \
	adapter/policy.c \
	adapter/pyerr.c \
	adapter/pyinit.c \
	adapter/refs.c \
	adapter/sbpack.h \
	adapter/shm.c \
	adapter/stream.c
adapter_libsbadapter_la_CFLAGS = $(AM_CFLAGS) $(PYTHON_CFLAGS) $(MSGPACK_CFLAGS)
adapter_libsbadapter_la_LIBADD = common/libsbcommon.la $(PYTHON_LIBS) $(MSGPACK_LIBS)

libexec_PROGRAMS += adapter/snakebridge-worker
adapter_snakebridge_worker_SOURCES = adapter/worker.c
adapter_snakebridge_worker_CFLAGS = $(AM_CFLAGS) $(PYTHON_CFLAGS) $(MSGPACK_CFLAGS)
adapter_snakebridge_worker_LDADD = adapter/libsbadapter.la
