# daemon/: (rules to come)
