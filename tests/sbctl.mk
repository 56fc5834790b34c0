# tests/sbctl.mk
