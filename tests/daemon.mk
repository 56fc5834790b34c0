# tests/daemon.mk: unit tests of snakebridged's own modules.
check_PROGRAMS += tests/check_config
TESTS += tests/check_config
tests_check_config_SOURCES = tests/check_config.c daemon/config.c daemon/conf.h
tests_check_config_CFLAGS = $(TEST_CFLAGS) $(INIH_CFLAGS) -I$(top_srcdir)/daemon
tests_check_config_LDADD = common/libsbcommon.la $(INIH_LIBS) $(TEST_LIBS)

# The request path (sessions, routing, queueing) with every daemon module
# but its main file, against a real connection and no worker.
check_PROGRAMS += tests/check_route
TESTS += tests/check_route
tests_check_route_SOURCES = tests/check_route.c tests/msggen.c tests/msggen.h \
	daemon/log.c daemon/config.c daemon/listen.c daemon/notify.c \
	daemon/frame.c daemon/mpk.c daemon/conn.c daemon/request.c \
	daemon/method.c daemon/relay.c daemon/route.c daemon/session.c \
	daemon/pool.c daemon/worker.c daemon/stats.c daemon/m_hello.c \
	daemon/m_cancel.c daemon/m_session.c daemon/m_status.c daemon/m_admin.c \
	daemon/m_shm.c daemon/shm.c \
	daemon/metrics.c daemon/events.c \
	daemon/io.c daemon/cleanup.c daemon/stream.c daemon/callback.c \
	daemon/ahead.c
tests_check_route_CFLAGS = $(TEST_CFLAGS) $(LIBEVENT_CFLAGS) $(INIH_CFLAGS) \
	$(SYSTEMD_CFLAGS) -I$(top_srcdir)/daemon
tests_check_route_LDADD = common/libsbcommon.la $(LIBEVENT_LIBS) \
	$(INIH_LIBS) $(SYSTEMD_LIBS) $(TEST_LIBS) -lm
