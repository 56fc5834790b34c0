# tests/shm.mk: the shared-memory path end to end through libsbclient
# against a real daemon, real workers and numpy (tests/check_shm.c, fixtures
# in tests/fixtures/sbshm.py).
check_PROGRAMS += tests/check_shm
TESTS += tests/check_shm
EXTRA_DIST += tests/fixtures/sbshm.py

tests_check_shm_SOURCES = tests/check_shm.c $(SUP_FIX)
tests_check_shm_CFLAGS = $(TEST_CFLAGS)
tests_check_shm_LDADD = $(SBT_LIBS)
