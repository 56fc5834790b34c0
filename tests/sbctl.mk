# tests/sbctl.mk: sbctl run as a child process against a real daemon.
check_PROGRAMS += tests/check_sbctl
TESTS += tests/check_sbctl
tests_check_sbctl_SOURCES = tests/check_sbctl.c tests/harness.c \
	tests/harness.h
tests_check_sbctl_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS)
tests_check_sbctl_LDADD = libclient/libsbclient.la common/libsbcommon.la \
	$(TEST_LIBS) $(JANSSON_LIBS)
