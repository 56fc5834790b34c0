# tests/sbctl.mk: sbctl run as a child process against a real daemon, and its
# JSON mapping unit-tested on its own.
check_PROGRAMS += tests/check_sbctl
TESTS += tests/check_sbctl
tests_check_sbctl_SOURCES = tests/check_sbctl.c tests/harness.c \
	tests/harness.h
tests_check_sbctl_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS)
tests_check_sbctl_LDADD = libclient/libsbclient.la common/libsbcommon.la \
	$(TEST_LIBS) $(JANSSON_LIBS)

# sbctl's JSON mapping on its own, no daemon.
check_PROGRAMS += tests/check_sbctl_json
TESTS += tests/check_sbctl_json
tests_check_sbctl_json_SOURCES = tests/check_sbctl_json.c \
	sbctl/json.c sbctl/base64.c sbctl/ndarray.c sbctl/ndarray.h \
	sbctl/sbctl.h
tests_check_sbctl_json_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS) \
	-I$(top_srcdir)/sbctl
tests_check_sbctl_json_LDADD = libclient/libsbclient.la \
	$(TEST_LIBS) $(JANSSON_LIBS) -lm
