# systemd/: the service and socket units and the sysusers.d snippet. The
# service unit names installed paths, so it is generated from its .in file
# with the directories make was given.
EXTRA_DIST += systemd/snakebridged.service.in systemd/snakebridged.sysusers
CLEANFILES += systemd/snakebridged.service

systemd/snakebridged.service: $(top_srcdir)/systemd/snakebridged.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' \
	    -e 's|@pkgsysconfdir[@]|$(sysconfdir)/snakebridged|g' \
	    $(top_srcdir)/systemd/snakebridged.service.in > $@.tmp && \
	mv $@.tmp $@

# Built by `make all` in any case, so that tests can read it.
if SB_SYSTEMD_UNITS
systemdsystemunit_DATA = systemd/snakebridged.service
dist_systemdsystemunit_DATA = systemd/snakebridged.socket
else
noinst_DATA = systemd/snakebridged.service
EXTRA_DIST += systemd/snakebridged.socket
endif

# sysusers.d reads only *.conf files.
if SB_SYSUSERS
install-data-local: install-sysusers
uninstall-local: uninstall-sysusers
endif
install-sysusers:
	$(MKDIR_P) '$(DESTDIR)$(sysusersdir)'
	$(INSTALL_DATA) $(top_srcdir)/systemd/snakebridged.sysusers \
	    '$(DESTDIR)$(sysusersdir)/snakebridged.conf'
uninstall-sysusers:
	rm -f '$(DESTDIR)$(sysusersdir)/snakebridged.conf'
.PHONY: install-sysusers uninstall-sysusers

# make distcheck installs as a user under a temporary prefix.
AM_DISTCHECK_CONFIGURE_FLAGS = \
	--with-systemdsystemunitdir='$${libdir}/systemd/system' \
	--with-sysusersdir='$${libdir}/sysusers.d'
