# sbctl/: the shell tool sbctl (one file per command, shared helpers in
# args.c, json.c, base64.c, ndarray.c) and its man page.
bin_PROGRAMS += sbctl/sbctl
sbctl_sbctl_SOURCES = \
	sbctl/sbctl.c sbctl/sbctl.h \
	sbctl/print.c sbctl/args.c sbctl/json.c sbctl/base64.c \
	sbctl/ndarray.c sbctl/ndarray.h \
	sbctl/cmd_call.c sbctl/cmd_get.c sbctl/cmd_method.c sbctl/cmd_attr.c \
	sbctl/cmd_setattr.c sbctl/cmd_ref.c sbctl/cmd_getitem.c \
	sbctl/cmd_next.c sbctl/cmd_stream.c sbctl/cmd_release.c sbctl/cmd_ping.c \
	sbctl/cmd_status.c sbctl/cmd_session.c sbctl/cmd_stats.c \
	sbctl/cmd_events.c sbctl/fields.c sbctl/cmd_admin.c
sbctl_sbctl_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(MSGPACK_CFLAGS)
sbctl_sbctl_LDADD = libclient/libsbclient.la $(JANSSON_LIBS) \
	$(MSGPACK_LIBS) -lm

dist_man1_MANS = man/sbctl.1
