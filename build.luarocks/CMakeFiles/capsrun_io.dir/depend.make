# Empty dependencies file for capsrun_io.
# This may be replaced when dependencies are built.
