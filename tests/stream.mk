# tests/stream.mk: iteration, streaming and callbacks against a real daemon
# (tests/check_stream.c, fixtures in tests/fixtures/sbstream.py).
check_PROGRAMS += tests/check_stream
TESTS += tests/check_stream
EXTRA_DIST += tests/fixtures/sbstream.py

tests_check_stream_SOURCES = tests/check_stream.c $(SBT_HARNESS)
tests_check_stream_CFLAGS = $(TEST_CFLAGS)
tests_check_stream_LDADD = $(SBT_LIBS)
