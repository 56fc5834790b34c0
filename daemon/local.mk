# daemon/: snakebridged.
sbin_PROGRAMS += daemon/snakebridged
daemon_snakebridged_SOURCES = \
	daemon/snakebridged.c daemon/snakebridged.h \
	daemon/log.c daemon/log.h \
	daemon/config.c daemon/conf.h \
	daemon/listen.c daemon/notify.c \
	daemon/frame.c daemon/mpk.c \
	daemon/conn.c daemon/request.c daemon/method.c daemon/relay.c \
	daemon/route.c daemon/session.c daemon/pool.c daemon/worker.c \
	daemon/m_hello.c daemon/m_cancel.c daemon/m_session.c \
	daemon/m_shm.c daemon/shm.c \
	daemon/metrics.c daemon/events.c \
	daemon/m_status.c daemon/m_admin.c daemon/stats.c daemon/io.c \
	daemon/stream.c daemon/callback.c daemon/ahead.c \
	daemon/cleanup.c daemon/confdiff.c
daemon_snakebridged_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) \
	$(MSGPACK_CFLAGS) $(INIH_CFLAGS) $(SYSTEMD_CFLAGS)
daemon_snakebridged_LDADD = common/libsbcommon.la $(LIBEVENT_LIBS) \
	$(MSGPACK_LIBS) $(INIH_LIBS) $(SYSTEMD_LIBS) -lm
