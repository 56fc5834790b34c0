# tests/pipeworker.mk: requests pipelined into a busy worker: order,
# timeouts and disconnects of requests sent ahead, interrupts, crashes.
check_PROGRAMS += tests/check_pipeworker
TESTS += tests/check_pipeworker
EXTRA_DIST += tests/fixtures/sbpipe.py

tests_check_pipeworker_SOURCES = tests/check_pipeworker.c $(SUP_FIX)
tests_check_pipeworker_CFLAGS = $(TEST_CFLAGS)
tests_check_pipeworker_LDADD = $(SBT_LIBS)
