# Empty dependencies file for capsrun_bindings.
# This may be replaced when dependencies are built.
