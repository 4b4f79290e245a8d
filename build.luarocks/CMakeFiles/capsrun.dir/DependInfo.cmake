
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/native/host/blas_select.c" "CMakeFiles/capsrun.dir/native/host/blas_select.c.o" "gcc" "CMakeFiles/capsrun.dir/native/host/blas_select.c.o.d"
  "/work/main/native/host/main.c" "CMakeFiles/capsrun.dir/native/host/main.c.o" "gcc" "CMakeFiles/capsrun.dir/native/host/main.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build.luarocks/CMakeFiles/capsrun_io.dir/DependInfo.cmake"
  "/work/main/build.luarocks/CMakeFiles/capsrun_kernels.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
