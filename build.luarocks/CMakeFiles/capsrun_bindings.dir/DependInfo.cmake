
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/native/lua/l_capsules.c" "CMakeFiles/capsrun_bindings.dir/native/lua/l_capsules.c.o" "gcc" "CMakeFiles/capsrun_bindings.dir/native/lua/l_capsules.c.o.d"
  "/work/main/native/lua/l_conv.c" "CMakeFiles/capsrun_bindings.dir/native/lua/l_conv.c.o" "gcc" "CMakeFiles/capsrun_bindings.dir/native/lua/l_conv.c.o.d"
  "/work/main/native/lua/l_data.c" "CMakeFiles/capsrun_bindings.dir/native/lua/l_data.c.o" "gcc" "CMakeFiles/capsrun_bindings.dir/native/lua/l_data.c.o.d"
  "/work/main/native/lua/l_dist.c" "CMakeFiles/capsrun_bindings.dir/native/lua/l_dist.c.o" "gcc" "CMakeFiles/capsrun_bindings.dir/native/lua/l_dist.c.o.d"
  "/work/main/native/lua/l_image.c" "CMakeFiles/capsrun_bindings.dir/native/lua/l_image.c.o" "gcc" "CMakeFiles/capsrun_bindings.dir/native/lua/l_image.c.o.d"
  "/work/main/native/lua/l_loss.c" "CMakeFiles/capsrun_bindings.dir/native/lua/l_loss.c.o" "gcc" "CMakeFiles/capsrun_bindings.dir/native/lua/l_loss.c.o.d"
  "/work/main/native/lua/l_native.c" "CMakeFiles/capsrun_bindings.dir/native/lua/l_native.c.o" "gcc" "CMakeFiles/capsrun_bindings.dir/native/lua/l_native.c.o.d"
  "/work/main/native/lua/l_net.c" "CMakeFiles/capsrun_bindings.dir/native/lua/l_net.c.o" "gcc" "CMakeFiles/capsrun_bindings.dir/native/lua/l_net.c.o.d"
  "/work/main/native/lua/l_nn.c" "CMakeFiles/capsrun_bindings.dir/native/lua/l_nn.c.o" "gcc" "CMakeFiles/capsrun_bindings.dir/native/lua/l_nn.c.o.d"
  "/work/main/native/lua/l_ops.c" "CMakeFiles/capsrun_bindings.dir/native/lua/l_ops.c.o" "gcc" "CMakeFiles/capsrun_bindings.dir/native/lua/l_ops.c.o.d"
  "/work/main/native/lua/l_optim.c" "CMakeFiles/capsrun_bindings.dir/native/lua/l_optim.c.o" "gcc" "CMakeFiles/capsrun_bindings.dir/native/lua/l_optim.c.o.d"
  "/work/main/native/lua/l_plot.c" "CMakeFiles/capsrun_bindings.dir/native/lua/l_plot.c.o" "gcc" "CMakeFiles/capsrun_bindings.dir/native/lua/l_plot.c.o.d"
  "/work/main/native/lua/l_pool.c" "CMakeFiles/capsrun_bindings.dir/native/lua/l_pool.c.o" "gcc" "CMakeFiles/capsrun_bindings.dir/native/lua/l_pool.c.o.d"
  "/work/main/native/lua/l_precision.c" "CMakeFiles/capsrun_bindings.dir/native/lua/l_precision.c.o" "gcc" "CMakeFiles/capsrun_bindings.dir/native/lua/l_precision.c.o.d"
  "/work/main/native/lua/l_tensor.c" "CMakeFiles/capsrun_bindings.dir/native/lua/l_tensor.c.o" "gcc" "CMakeFiles/capsrun_bindings.dir/native/lua/l_tensor.c.o.d"
  "/work/main/native/lua/l_workspace.c" "CMakeFiles/capsrun_bindings.dir/native/lua/l_workspace.c.o" "gcc" "CMakeFiles/capsrun_bindings.dir/native/lua/l_workspace.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
