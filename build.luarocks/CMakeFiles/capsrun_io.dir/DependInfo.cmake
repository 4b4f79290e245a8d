
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/native/io/atomic_file.c" "CMakeFiles/capsrun_io.dir/native/io/atomic_file.c.o" "gcc" "CMakeFiles/capsrun_io.dir/native/io/atomic_file.c.o.d"
  "/work/main/native/io/cifar.c" "CMakeFiles/capsrun_io.dir/native/io/cifar.c.o" "gcc" "CMakeFiles/capsrun_io.dir/native/io/cifar.c.o.d"
  "/work/main/native/io/idx.c" "CMakeFiles/capsrun_io.dir/native/io/idx.c.o" "gcc" "CMakeFiles/capsrun_io.dir/native/io/idx.c.o.d"
  "/work/main/native/io/plot.c" "CMakeFiles/capsrun_io.dir/native/io/plot.c.o" "gcc" "CMakeFiles/capsrun_io.dir/native/io/plot.c.o.d"
  "/work/main/native/io/png_io.c" "CMakeFiles/capsrun_io.dir/native/io/png_io.c.o" "gcc" "CMakeFiles/capsrun_io.dir/native/io/png_io.c.o.d"
  "/work/main/native/io/sha256.c" "CMakeFiles/capsrun_io.dir/native/io/sha256.c.o" "gcc" "CMakeFiles/capsrun_io.dir/native/io/sha256.c.o.d"
  "/work/main/native/io/tensorio.c" "CMakeFiles/capsrun_io.dir/native/io/tensorio.c.o" "gcc" "CMakeFiles/capsrun_io.dir/native/io/tensorio.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build.luarocks/CMakeFiles/capsrun_kernels.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
