
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/native/kernels/activation.c" "CMakeFiles/capsrun_kernels.dir/native/kernels/activation.c.o" "gcc" "CMakeFiles/capsrun_kernels.dir/native/kernels/activation.c.o.d"
  "/work/main/native/kernels/adam.c" "CMakeFiles/capsrun_kernels.dir/native/kernels/adam.c.o" "gcc" "CMakeFiles/capsrun_kernels.dir/native/kernels/adam.c.o.d"
  "/work/main/native/kernels/affine.c" "CMakeFiles/capsrun_kernels.dir/native/kernels/affine.c.o" "gcc" "CMakeFiles/capsrun_kernels.dir/native/kernels/affine.c.o.d"
  "/work/main/native/kernels/blas_core.c" "CMakeFiles/capsrun_kernels.dir/native/kernels/blas_core.c.o" "gcc" "CMakeFiles/capsrun_kernels.dir/native/kernels/blas_core.c.o.d"
  "/work/main/native/kernels/caps.c" "CMakeFiles/capsrun_kernels.dir/native/kernels/caps.c.o" "gcc" "CMakeFiles/capsrun_kernels.dir/native/kernels/caps.c.o.d"
  "/work/main/native/kernels/caps_predict.c" "CMakeFiles/capsrun_kernels.dir/native/kernels/caps_predict.c.o" "gcc" "CMakeFiles/capsrun_kernels.dir/native/kernels/caps_predict.c.o.d"
  "/work/main/native/kernels/caps_route.c" "CMakeFiles/capsrun_kernels.dir/native/kernels/caps_route.c.o" "gcc" "CMakeFiles/capsrun_kernels.dir/native/kernels/caps_route.c.o.d"
  "/work/main/native/kernels/conv.c" "CMakeFiles/capsrun_kernels.dir/native/kernels/conv.c.o" "gcc" "CMakeFiles/capsrun_kernels.dir/native/kernels/conv.c.o.d"
  "/work/main/native/kernels/cpu_features.c" "CMakeFiles/capsrun_kernels.dir/native/kernels/cpu_features.c.o" "gcc" "CMakeFiles/capsrun_kernels.dir/native/kernels/cpu_features.c.o.d"
  "/work/main/native/kernels/dropout.c" "CMakeFiles/capsrun_kernels.dir/native/kernels/dropout.c.o" "gcc" "CMakeFiles/capsrun_kernels.dir/native/kernels/dropout.c.o.d"
  "/work/main/native/kernels/linear.c" "CMakeFiles/capsrun_kernels.dir/native/kernels/linear.c.o" "gcc" "CMakeFiles/capsrun_kernels.dir/native/kernels/linear.c.o.d"
  "/work/main/native/kernels/loss.c" "CMakeFiles/capsrun_kernels.dir/native/kernels/loss.c.o" "gcc" "CMakeFiles/capsrun_kernels.dir/native/kernels/loss.c.o.d"
  "/work/main/native/kernels/matmul.c" "CMakeFiles/capsrun_kernels.dir/native/kernels/matmul.c.o" "gcc" "CMakeFiles/capsrun_kernels.dir/native/kernels/matmul.c.o.d"
  "/work/main/native/kernels/pool.c" "CMakeFiles/capsrun_kernels.dir/native/kernels/pool.c.o" "gcc" "CMakeFiles/capsrun_kernels.dir/native/kernels/pool.c.o.d"
  "/work/main/native/kernels/resize.c" "CMakeFiles/capsrun_kernels.dir/native/kernels/resize.c.o" "gcc" "CMakeFiles/capsrun_kernels.dir/native/kernels/resize.c.o.d"
  "/work/main/native/kernels/rng.c" "CMakeFiles/capsrun_kernels.dir/native/kernels/rng.c.o" "gcc" "CMakeFiles/capsrun_kernels.dir/native/kernels/rng.c.o.d"
  "/work/main/native/kernels/tensor.c" "CMakeFiles/capsrun_kernels.dir/native/kernels/tensor.c.o" "gcc" "CMakeFiles/capsrun_kernels.dir/native/kernels/tensor.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
