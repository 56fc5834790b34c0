# tests/service.mk: snakebridge as an operator installs it. The shell tests
# install into tests/service-dest, check that tree, verify the units with
# systemd-analyze and lint the man pages; check_service reads the units'
# key lines and runs examples/hello.c built against the installed library.
SVC_TESTSH = tests/service-install.sh tests/service-verify.sh \
	tests/man-lint.sh tests/man-sbclient.sh
dist_check_SCRIPTS += $(SVC_TESTSH)
TESTS += $(SVC_TESTSH) tests/check_service

# What the shell tests need to know of the configured layout, sourced by
# them from the build tree.
check_DATA = tests/service.env
CLEANFILES += tests/service.env
tests/service.env: Makefile
	$(AM_V_GEN){ \
	echo "MAKE='$(MAKE)'"; \
	echo "SBT_SBINDIR='$(sbindir)'"; echo "SBT_BINDIR='$(bindir)'"; \
	echo "SBT_LIBEXECDIR='$(libexecdir)'"; echo "SBT_LIBDIR='$(libdir)'"; \
	echo "SBT_INCLUDEDIR='$(includedir)'"; \
	echo "SBT_SYSCONFDIR='$(sysconfdir)'"; echo "SBT_MANDIR='$(mandir)'"; \
	echo "SBT_PKGCONFIGDIR='$(pkgconfigdir)'"; \
	echo "SBT_UNITDIR='$(systemdsystemunitdir)'"; \
	echo "SBT_SYSUSERSDIR='$(sysusersdir)'"; \
	} > $@.tmp && mv $@.tmp $@

# Tests that use the installed tree wait for it.
tests/service-verify.sh.log tests/check_service.log: \
	tests/service-install.sh.log

check_PROGRAMS += tests/check_service
tests_check_service_SOURCES = tests/check_service.c $(SBT_HARNESS)
tests_check_service_CFLAGS = $(TEST_CFLAGS) \
	-DSBT_SBINDIR='"$(sbindir)"' -DSBT_SYSCONFDIR='"$(sysconfdir)"' \
	-DSBT_LIBDIR='"$(libdir)"' -DSBT_PKGCONFIGDIR='"$(pkgconfigdir)"' \
	-DSBT_CC='"$(CC)"' -DSBT_CFLAGS='"$(CFLAGS)"' \
	-DSBT_LDFLAGS='"$(LDFLAGS)"'
tests_check_service_LDADD = $(SBT_LIBS)

clean-local: clean-service
clean-service:
	rm -rf tests/service-dest tests/service-root tests/service-install.out
