# tests/observe.mk: running as a service and being watched: sd_notify,
# socket activation, log destinations, sbctl status, stats and events.
check_PROGRAMS += tests/check_observe
TESTS += tests/check_observe
tests_check_observe_SOURCES = tests/check_observe.c $(SBT_HARNESS)
tests_check_observe_CFLAGS = $(TEST_CFLAGS)
tests_check_observe_LDADD = libclient/libsbclient.la common/libsbcommon.la \
	$(TEST_LIBS)
