# tests/scan.mk: unit tests of common/: the validating scanner, the decoder
# of scanned messages and the shared-array codec.
check_PROGRAMS += tests/check_scan tests/check_unpack tests/check_shmarray
TESTS += tests/check_scan tests/check_unpack tests/check_shmarray
tests_check_scan_SOURCES = tests/check_scan.c tests/scanref.c tests/scanref.h \
    tests/msggen.c tests/msggen.h
tests_check_scan_CFLAGS = $(TEST_CFLAGS)
tests_check_scan_LDADD = common/libsbcommon.la $(TEST_LIBS)
tests_check_unpack_SOURCES = tests/check_unpack.c tests/msggen.c \
    tests/msggen.h
tests_check_unpack_CFLAGS = $(TEST_CFLAGS)
tests_check_unpack_LDADD = common/libsbcommon.la $(TEST_LIBS)
tests_check_shmarray_SOURCES = tests/check_shmarray.c
tests_check_shmarray_CFLAGS = $(TEST_CFLAGS) $(MSGPACK_CFLAGS)
tests_check_shmarray_LDADD = common/libsbcommon.la $(MSGPACK_LIBS) $(TEST_LIBS)
