#!/bin/sh
# man-sbclient.sh: libsbclient(3) names every function that sbclient.h
# declares (comments in the header are ignored).
set -u
S=${SB_SRCDIR:?}
page=$S/man/libsbclient.3
fail=0
n=0

funcs=$(sh "$S/libclient/public-syms.sh" "$S/libclient/sbclient.h")
if test -z "$funcs"; then
	echo "FAIL: no function found in sbclient.h"
	exit 1
fi
for f in $funcs; do
	n=$((n + 1))
	if ! grep -Eq "(^|[^a-z0-9_])$f([^a-z0-9_]|\$)" "$page"; then
		echo "FAIL: $f is not in libsbclient(3)"
		fail=1
	fi
done
echo "checked $n functions"
exit $fail
