# tests/integration.mk: suites against a real snakebridged with real workers
# and real Python, driven through libsbclient and raw msgpack sockets.
# tests/harness.c is compiled into each suite (sbctl.mk links it too).
SBT_HARNESS = tests/harness.c tests/harness.h
SBT_LIBS = libclient/libsbclient.la common/libsbcommon.la $(TEST_LIBS)

check_PROGRAMS += tests/check_ffi tests/check_pipeline tests/check_badinput
TESTS += tests/check_ffi tests/check_pipeline tests/check_badinput
EXTRA_DIST += tests/fixtures/sbfixtures.py

tests_check_ffi_SOURCES = tests/check_ffi.c $(SBT_HARNESS)
tests_check_ffi_CFLAGS = $(TEST_CFLAGS)
tests_check_ffi_LDADD = $(SBT_LIBS)

tests_check_pipeline_SOURCES = tests/check_pipeline.c $(SBT_HARNESS)
tests_check_pipeline_CFLAGS = $(TEST_CFLAGS) -pthread
tests_check_pipeline_LDADD = $(SBT_LIBS) -lpthread

tests_check_badinput_SOURCES = tests/check_badinput.c $(SBT_HARNESS)
tests_check_badinput_CFLAGS = $(TEST_CFLAGS)
tests_check_badinput_LDADD = $(SBT_LIBS)
