# man/: the manual pages (sbctl.1 is installed by sbctl/local.mk).
dist_man3_MANS = man/libsbclient.3
dist_man5_MANS = man/snakebridged.conf.5
dist_man7_MANS = man/snakebridge-protocol.7
dist_man8_MANS = man/snakebridged.8

# The project's other documentation.
EXTRA_DIST += README.md docs/protocol.md docs/internals.md
