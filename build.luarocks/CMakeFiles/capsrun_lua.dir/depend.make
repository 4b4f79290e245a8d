# Empty dependencies file for capsrun_lua.
# This may be replaced when dependencies are built.
