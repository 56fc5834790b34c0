# adapter/: (rules to come)
