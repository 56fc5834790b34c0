# tests/fuzz.mk: randomized input against a live daemon.
check_PROGRAMS += tests/check_fuzz
TESTS += tests/check_fuzz
tests_check_fuzz_SOURCES = tests/check_fuzz.c $(SBT_HARNESS)
tests_check_fuzz_CFLAGS = $(TEST_CFLAGS)
tests_check_fuzz_LDADD = $(SBT_LIBS)
