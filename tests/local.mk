# tests/: check suites. Each suite family keeps its rules in its own .mk file.
if HAVE_CHECK
TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(MSGPACK_CFLAGS)
TEST_LIBS = $(CHECK_LIBS) $(MSGPACK_LIBS)
include tests/scan.mk
include tests/codec.mk
include tests/client.mk
include tests/integration.mk
include tests/fuzz.mk
include tests/sbctl.mk
include tests/daemon.mk
include tests/service.mk
include tests/observe.mk
include tests/supervision.mk
include tests/stream.mk
include tests/pipeworker.mk
include tests/policy.mk
include tests/shm.mk
include tests/shmwire.mk
include tests/shmworker.mk
endif

# What every suite may read from its environment.
AM_TESTS_ENVIRONMENT = \
	SB_BUILDDIR='$(abs_top_builddir)'; SB_SRCDIR='$(abs_top_srcdir)'; \
	CK_DEFAULT_TIMEOUT=120; export SB_BUILDDIR SB_SRCDIR CK_DEFAULT_TIMEOUT;
