# Empty dependencies file for capsrun_kernels.
# This may be replaced when dependencies are built.
