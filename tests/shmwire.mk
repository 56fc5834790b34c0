# tests/shmwire.mk: the daemon's side of shared memory, over a raw socket
# against a real snakebridged (tests/harness.c, see integration.mk).
check_PROGRAMS += tests/check_shmwire
TESTS += tests/check_shmwire

tests_check_shmwire_SOURCES = tests/check_shmwire.c $(SBT_HARNESS)
tests_check_shmwire_CFLAGS = $(TEST_CFLAGS)
tests_check_shmwire_LDADD = $(SBT_LIBS)

# A stand-in worker that reports what it is sent (check_shmwire runs it).
check_PROGRAMS += tests/shmfake
tests_shmfake_SOURCES = tests/shmfake.c
tests_shmfake_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS)
tests_shmfake_LDADD = common/libsbcommon.la $(MSGPACK_LIBS)
