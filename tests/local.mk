# tests/: check suites. Each suite family keeps its rules in its own .mk file.
if HAVE_CHECK
TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(MSGPACK_CFLAGS)
TEST_LIBS = $(CHECK_LIBS) $(MSGPACK_LIBS)
include tests/scan.mk
include tests/codec.mk
include tests/client.mk
include tests/integration.mk
include tests/sbctl.mk
endif
