# etc/: the commented configuration file, installed where the units read it:
# $(sysconfdir)/snakebridged/snakebridged.conf.
snakebridgedconfdir = $(sysconfdir)/snakebridged
dist_snakebridgedconf_DATA = etc/snakebridged.conf
