# tests/shmworker.mk: the worker's side of shared memory, the worker binary
# driven over its channel and its block channel.
check_PROGRAMS += tests/check_shmworker
TESTS += tests/check_shmworker
tests_check_shmworker_SOURCES = tests/check_shmworker.c $(WK_FIX)
tests_check_shmworker_CFLAGS = $(TEST_CFLAGS)
tests_check_shmworker_LDADD = common/libsbcommon.la $(TEST_LIBS)
