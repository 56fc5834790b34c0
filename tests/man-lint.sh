#!/bin/sh
# man-lint.sh: every man page renders with groff -ww (all warnings) without
# a single message.
set -u
S=${SB_SRCDIR:?}
fail=0

if ! command -v groff >/dev/null 2>&1; then
	echo "SKIP: groff is not installed"
	exit 77
fi
for page in "$S"/man/*.[1-8]; do
	out=$(LC_ALL=C.UTF-8 groff -ww -man -Tutf8 "$page" 2>&1 >/dev/null)
	if test -n "$out"; then
		echo "$out"
		echo "FAIL: ${page#$S/}"
		fail=1
	else
		echo "ok: ${page#$S/}"
	fi
done
exit $fail
