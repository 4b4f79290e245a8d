# Empty dependencies file for capsrun.
# This may be replaced when dependencies are built.
