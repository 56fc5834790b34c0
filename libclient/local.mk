# libclient/: (rules to come)
