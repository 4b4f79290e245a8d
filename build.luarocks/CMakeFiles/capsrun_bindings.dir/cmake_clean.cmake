file(REMOVE_RECURSE
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_capsules.c.o"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_capsules.c.o.d"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_conv.c.o"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_conv.c.o.d"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_data.c.o"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_data.c.o.d"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_dist.c.o"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_dist.c.o.d"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_image.c.o"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_image.c.o.d"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_loss.c.o"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_loss.c.o.d"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_native.c.o"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_native.c.o.d"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_net.c.o"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_net.c.o.d"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_nn.c.o"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_nn.c.o.d"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_ops.c.o"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_ops.c.o.d"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_optim.c.o"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_optim.c.o.d"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_plot.c.o"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_plot.c.o.d"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_pool.c.o"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_pool.c.o.d"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_precision.c.o"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_precision.c.o.d"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_tensor.c.o"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_tensor.c.o.d"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_workspace.c.o"
  "CMakeFiles/capsrun_bindings.dir/native/lua/l_workspace.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/capsrun_bindings.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
