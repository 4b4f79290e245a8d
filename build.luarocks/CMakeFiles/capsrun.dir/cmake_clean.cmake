file(REMOVE_RECURSE
  "CMakeFiles/capsrun.dir/native/host/blas_select.c.o"
  "CMakeFiles/capsrun.dir/native/host/blas_select.c.o.d"
  "CMakeFiles/capsrun.dir/native/host/main.c.o"
  "CMakeFiles/capsrun.dir/native/host/main.c.o.d"
  "capsrun"
  "capsrun.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/capsrun.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
