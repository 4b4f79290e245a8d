# Empty custom commands generated dependencies file for fuzz-long.
# This may be replaced when dependencies are built.
