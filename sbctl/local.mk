# sbctl/: (rules to come)
