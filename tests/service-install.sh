#!/bin/sh
# service-install.sh: `make install` into a DESTDIR under the build tree
# (tests/service-dest, which later tests use), then check that every file an
# operator needs is installed where it belongs, with the right kind and mode.
set -u
B=${SB_BUILDDIR:?}
. "$B/tests/service.env" || exit 1
dest=$B/tests/service-dest
fail=0

rm -rf "$dest"
# A make of its own: the one running the tests does not share its jobs.
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL ${MAKE:-make} -s -C "$B" \
    install DESTDIR="$dest" >"$B/tests/service-install.out" 2>&1; then
	cat "$B/tests/service-install.out"
	echo "FAIL: make install DESTDIR=$dest"
	exit 1
fi

# want TEST PATH: the installed PATH passes test(1)'s TEST (-f, -x, -L...).
want() {
	if test "$1" "$dest$2"; then
		echo "ok: $2"
	else
		echo "FAIL: $2 missing or not $1"
		fail=1
	fi
}

want -x "$SBT_SBINDIR/snakebridged"
want -x "$SBT_LIBEXECDIR/snakebridge-worker"
want -x "$SBT_BINDIR/sbctl"
want -L "$SBT_LIBDIR/libsbclient.so"
want -f "$SBT_LIBDIR/libsbclient.so.0"
want -f "$SBT_INCLUDEDIR/sbclient.h"
want -f "$SBT_PKGCONFIGDIR/sbclient.pc"
want -f "$SBT_SYSCONFDIR/snakebridged/snakebridged.conf"
if test "$SBT_UNITDIR" = no; then
	echo "not checked: units (configured --without-systemdsystemunitdir)"
else
	want -f "$SBT_UNITDIR/snakebridged.service"
	want -f "$SBT_UNITDIR/snakebridged.socket"
fi
if test "$SBT_SYSUSERSDIR" = no; then
	echo "not checked: sysusers.d (configured --without-sysusersdir)"
else
	want -f "$SBT_SYSUSERSDIR/snakebridged.conf"
fi
for page in man1/sbctl.1 man3/libsbclient.3 man5/snakebridged.conf.5 \
    man7/snakebridge-protocol.7 man8/snakebridged.8; do
	want -f "$SBT_MANDIR/$page"
done

# The installed pkg-config file points at the installed header and library.
pcvar() {
	PKG_CONFIG_PATH=$dest$SBT_PKGCONFIGDIR pkg-config --variable="$1" sbclient
}
if test "$(pcvar libdir)" = "$SBT_LIBDIR" &&
    test "$(pcvar includedir)" = "$SBT_INCLUDEDIR"; then
	echo "ok: sbclient.pc names libdir and includedir"
else
	echo "FAIL: sbclient.pc does not name $SBT_LIBDIR and $SBT_INCLUDEDIR"
	fail=1
fi

# The installed service runs the installed daemon.
if test "$SBT_UNITDIR" = no; then
	:
elif grep -q "^ExecStart=$SBT_SBINDIR/snakebridged " \
    "$dest$SBT_UNITDIR/snakebridged.service"; then
	echo "ok: the service runs $SBT_SBINDIR/snakebridged"
else
	echo "FAIL: the service does not run $SBT_SBINDIR/snakebridged"
	fail=1
fi

# The installed config file is accepted by the installed daemon.
if "$dest$SBT_SBINDIR/snakebridged" -n \
    -f "$dest$SBT_SYSCONFDIR/snakebridged/snakebridged.conf"; then
	echo "ok: snakebridged -n accepts the installed config"
else
	echo "FAIL: snakebridged -n rejects the installed config"
	fail=1
fi
exit $fail
