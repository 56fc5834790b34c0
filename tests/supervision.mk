# tests/supervision.mk: sessions (issue 3) and supervision (issue 4) against
# a real snakebridged: lifetimes, ownership, cleanup, limits, crashes,
# timeouts, recycling, pools, reload, signals and shutdown.
SUP_FIX = tests/supfix.c tests/supfix.h $(SBT_HARNESS)

check_PROGRAMS += tests/check_sessions tests/check_supervision \
	tests/check_reload
TESTS += tests/check_sessions tests/check_supervision tests/check_reload
EXTRA_DIST += tests/fixtures/sbsuper.py tests/fixtures/sbsuper_crash.py

tests_check_sessions_SOURCES = tests/check_sessions.c $(SUP_FIX)
tests_check_sessions_CFLAGS = $(TEST_CFLAGS)
tests_check_sessions_LDADD = $(SBT_LIBS)

tests_check_supervision_SOURCES = tests/check_supervision.c $(SUP_FIX)
tests_check_supervision_CFLAGS = $(TEST_CFLAGS)
tests_check_supervision_LDADD = $(SBT_LIBS)

tests_check_reload_SOURCES = tests/check_reload.c $(SUP_FIX)
tests_check_reload_CFLAGS = $(TEST_CFLAGS)
tests_check_reload_LDADD = $(SBT_LIBS)
