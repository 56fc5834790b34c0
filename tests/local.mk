# tests/: (rules to come)
