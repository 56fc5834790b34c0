# common/: protocol code shared by the daemon, the worker and libsbclient.
noinst_LTLIBRARIES += common/libsbcommon.la
common_libsbcommon_la_SOURCES = \
	common/scan.c common/scan.h \
	common/proto.c common/sbproto.h \
	common/errpack.c common/errpack.h common/alloc.h common/mphead.h \
	common/shmarray.c common/shmarray.h \
	common/unpack.c common/unpack.h
common_libsbcommon_la_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS)
