# tests/client.mk
