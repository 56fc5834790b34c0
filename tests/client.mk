# tests/client.mk: libsbclient unit suite (values, codec, async client
# against a fake daemon).
check_PROGRAMS += tests/check_value
TESTS += tests/check_value
tests_check_value_SOURCES = tests/check_value.c
tests_check_value_CFLAGS = $(TEST_CFLAGS)
tests_check_value_LDADD = libclient/libsbclient.la common/libsbcommon.la \
	$(TEST_LIBS)

# The library's exported symbols are its public API, no more.
dist_check_SCRIPTS += tests/exports.sh
TESTS += tests/exports.sh
