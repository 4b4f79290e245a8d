file(REMOVE_RECURSE
  "libcapsrun_io.a"
)
