file(REMOVE_RECURSE
  "libcapsrun_kernels.a"
)
