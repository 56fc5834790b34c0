# tests/codec.mk: unit tests of the worker's codec, and of the worker binary
# over a socketpair (tests/wkfix.c drives the worker; the shmworker suite
# shares it).
WK_FIX = tests/wkfix.c tests/wkfix.h

check_PROGRAMS += tests/check_codec
TESTS += tests/check_codec
tests_check_codec_SOURCES = tests/check_codec.c $(WK_FIX)
tests_check_codec_CFLAGS = $(TEST_CFLAGS) $(PYTHON_CFLAGS) -I$(top_srcdir)/adapter
tests_check_codec_LDADD = adapter/libsbadapter.la $(TEST_LIBS)
