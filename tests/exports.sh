#!/bin/sh
# exports.sh: libsbclient exports exactly the functions sbclient.h declares;
# the protocol code it shares with the daemon and the worker stays inside.
set -u
S=${SB_SRCDIR:?}
B=${SB_BUILDDIR:?}
lib=$B/libclient/.libs/libsbclient.so
if ! test -f "$lib"; then
	echo "SKIP: no shared libsbclient ($lib)"
	exit 77
fi
want=$(sh "$S/libclient/public-syms.sh" "$S/libclient/sbclient.h")
have=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVWi]$/ { print $3 }' |
    sed 's/@.*//' | sort -u)
extra=$(printf '%s\n' "$have" | grep -vxF "$want")
missing=$(printf '%s\n' "$want" | grep -vxF "$have")
fail=0
for f in $extra; do
	echo "FAIL: $f is exported but sbclient.h does not declare it"
	fail=1
done
for f in $missing; do
	echo "FAIL: sbclient.h declares $f but the library does not export it"
	fail=1
done
echo "checked $(printf '%s\n' "$want" | wc -l) functions"
exit $fail
