# libclient/: libsbclient, its public header and its pkg-config file.
lib_LTLIBRARIES += libclient/libsbclient.la
include_HEADERS += libclient/sbclient.h
pkgconfig_DATA += libclient/sbclient.pc
libclient_libsbclient_la_SOURCES = \
	libclient/internal.h \
	libclient/value.c \
	libclient/block.c \
	libclient/pbuf.h \
	libclient/pbuf.c \
	libclient/pack.c \
	libclient/unpack.c \
	libclient/conn.c \
	libclient/wqueue.c \
	libclient/pending.c \
	libclient/calls.c \
	libclient/stream.c \
	libclient/callback.c \
	libclient/shm.c \
	libclient/error.c
libclient_libsbclient_la_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS)
libclient_libsbclient_la_LIBADD = common/libsbcommon.la $(MSGPACK_LIBS)
libclient_libsbclient_la_LDFLAGS = -version-info $(SBCLIENT_LT_VERSION) \
	-export-symbols libclient/sbclient.sym -no-undefined

# Only what sbclient.h declares is exported: the code shared with the daemon
# and the worker (common/) stays inside the library.
EXTRA_libclient_libsbclient_la_DEPENDENCIES = libclient/sbclient.sym
EXTRA_DIST += libclient/public-syms.sh
CLEANFILES += libclient/sbclient.sym
libclient/sbclient.sym: $(srcdir)/libclient/sbclient.h \
    $(srcdir)/libclient/public-syms.sh
	$(AM_V_GEN)$(MKDIR_P) libclient && $(SHELL) \
	    $(srcdir)/libclient/public-syms.sh $(srcdir)/libclient/sbclient.h \
	    > $@.tmp && mv $@.tmp $@
