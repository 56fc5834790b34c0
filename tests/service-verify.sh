#!/bin/sh
# service-verify.sh: systemd-analyze verify on the units as installed in
# tests/service-dest. It runs with --root on a copy of that tree to which
# the host's own units (sysinit.target, ...) and /bin/kill are added, so
# every path the units name is checked inside the installed tree; the man
# pages of Documentation= are looked up in the installed tree too. Any
# message counts as a failure. Skipped, saying why, when systemd-analyze is
# missing or cannot verify even a trivial unit here. Then systemd-sysusers
# applies the installed sysusers.d snippet to that root.
set -u
B=${SB_BUILDDIR:?}
. "$B/tests/service.env" || exit 1
dest=$B/tests/service-dest
root=$B/tests/service-root

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze is not installed"
	exit 77
fi
if test "$SBT_UNITDIR" = no; then
	echo "SKIP: configured --without-systemdsystemunitdir: no units installed"
	exit 77
fi
hostunits=
for d in /usr/lib/systemd/system /lib/systemd/system; do
	if test -f "$d/sysinit.target"; then
		hostunits=$d
		break
	fi
done
if test -z "$hostunits"; then
	echo "SKIP: no systemd unit directory with sysinit.target on this host"
	exit 77
fi
if ! test -d "$dest$SBT_UNITDIR"; then
	echo "FAIL: $dest$SBT_UNITDIR missing: tests/service-install.sh first"
	exit 1
fi

rm -rf "$root"
mkdir -p "$root$SBT_UNITDIR" "$root/bin" "$root/lib/systemd/system" &&
    cp -R "$dest/." "$root/" &&
    cp -R "$hostunits/." "$root/lib/systemd/system/" &&
    cp /bin/kill "$root/bin/kill" || exit 1

# A trivial unit first: if that fails, this environment cannot verify.
cat >"$root/lib/systemd/system/sbprobe.service" <<'UNIT'
[Unit]
Description=probe
[Service]
ExecStart=/bin/kill -0 1
UNIT
if ! out=$(systemd-analyze verify --man=no --root="$root" \
    /lib/systemd/system/sbprobe.service 2>&1) || test -n "$out"; then
	echo "SKIP: systemd-analyze cannot verify units here:"
	echo "$out"
	exit 77
fi
rm -f "$root/lib/systemd/system/sbprobe.service"

# systemd finds units only in its own directories: units installed
# elsewhere (make distcheck puts them under its prefix) are verified from
# a copy in the root's /etc/systemd/system.
case $SBT_UNITDIR in
/etc/systemd/system|/lib/systemd/system|/usr/lib/systemd/system)
	units=$SBT_UNITDIR ;;
*)
	units=/etc/systemd/system
	echo "note: $SBT_UNITDIR is not searched by systemd; verifying" \
	    "copies in $units"
	mkdir -p "$root$units" &&
	    cp "$dest$SBT_UNITDIR/snakebridged.service" \
	    "$dest$SBT_UNITDIR/snakebridged.socket" "$root$units/" || exit 1 ;;
esac

out=$(MANPATH=$dest$SBT_MANDIR systemd-analyze verify --root="$root" \
    "$units/snakebridged.service" "$units/snakebridged.socket" 2>&1)
rc=$?
if test $rc -ne 0 || test -n "$out"; then
	echo "$out"
	echo "FAIL: systemd-analyze verify (exit $rc)"
	exit 1
fi
echo "ok: systemd-analyze verify found nothing in the installed units"

# The installed sysusers.d snippet creates the user and group the units name.
if test "$SBT_SYSUSERSDIR" = no || ! command -v systemd-sysusers >/dev/null 2>&1
then
	echo "not checked: sysusers.d snippet (not installed or no systemd-sysusers)"
	exit 0
fi
mkdir -p "$root/etc" && : >"$root/etc/passwd" && : >"$root/etc/group" ||
    exit 1
if ! out=$(systemd-sysusers --root="$root" \
    "$dest$SBT_SYSUSERSDIR/snakebridged.conf" 2>&1); then
	echo "$out"
	echo "FAIL: systemd-sysusers rejects the installed snippet"
	exit 1
fi
if grep -q '^snakebridge:x:[0-9]*:[0-9]*:[^:]*:/var/lib/snakebridged:' \
    "$root/etc/passwd" && grep -q '^snakebridge:x:' "$root/etc/group"; then
	echo "ok: the sysusers.d snippet creates the user and group snakebridge"
else
	echo "FAIL: the sysusers.d snippet does not create snakebridge"
	cat "$root/etc/passwd" "$root/etc/group"
	exit 1
fi
