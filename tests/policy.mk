# tests/policy.mk: the pools' module lists (allow_modules, deny_modules)
# against a real daemon (tests/check_policy.c).
check_PROGRAMS += tests/check_policy
TESTS += tests/check_policy

tests_check_policy_SOURCES = tests/check_policy.c $(SBT_HARNESS)
tests_check_policy_CFLAGS = $(TEST_CFLAGS)
tests_check_policy_LDADD = $(SBT_LIBS)
