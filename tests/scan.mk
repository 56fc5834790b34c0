# tests/scan.mk: unit tests of the validating scanner.
check_PROGRAMS += tests/check_scan
TESTS += tests/check_scan
tests_check_scan_SOURCES = tests/check_scan.c
tests_check_scan_CFLAGS = $(TEST_CFLAGS)
tests_check_scan_LDADD = common/libsbcommon.la $(TEST_LIBS)
