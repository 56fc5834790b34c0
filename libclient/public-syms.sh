#!/bin/sh
# public-syms.sh: the functions that sbclient.h declares, one per line,
# sorted; comments in the header are ignored. What libsbclient exports
# (libclient/local.mk) and what libsbclient(3) must name (tests).
# usage: public-syms.sh PATH/TO/sbclient.h
set -eu
sed -e 's|/\*.*\*/||' "$1" |
    awk '/\/\*/ { c = 1 } !c { print } /\*\// { c = 0 }' |
    grep -o 'sb_[a-z0-9_]*[ 	]*(' | tr -d ' 	(' | sort -u
