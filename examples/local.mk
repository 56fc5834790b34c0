# examples/: small programs using libsbclient, built but not installed.
noinst_PROGRAMS += examples/hello
examples_hello_SOURCES = examples/hello.c
examples_hello_LDADD = libclient/libsbclient.la
