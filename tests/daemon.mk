# tests/daemon.mk: unit tests of snakebridged's own modules.
check_PROGRAMS += tests/check_config
TESTS += tests/check_config
tests_check_config_SOURCES = tests/check_config.c daemon/config.c daemon/conf.h
tests_check_config_CFLAGS = $(TEST_CFLAGS) $(INIH_CFLAGS) -I$(top_srcdir)/daemon
tests_check_config_LDADD = common/libsbcommon.la $(INIH_LIBS) $(TEST_LIBS)
