file(REMOVE_RECURSE
  "CMakeFiles/capsrun_io.dir/native/io/atomic_file.c.o"
  "CMakeFiles/capsrun_io.dir/native/io/atomic_file.c.o.d"
  "CMakeFiles/capsrun_io.dir/native/io/cifar.c.o"
  "CMakeFiles/capsrun_io.dir/native/io/cifar.c.o.d"
  "CMakeFiles/capsrun_io.dir/native/io/idx.c.o"
  "CMakeFiles/capsrun_io.dir/native/io/idx.c.o.d"
  "CMakeFiles/capsrun_io.dir/native/io/plot.c.o"
  "CMakeFiles/capsrun_io.dir/native/io/plot.c.o.d"
  "CMakeFiles/capsrun_io.dir/native/io/png_io.c.o"
  "CMakeFiles/capsrun_io.dir/native/io/png_io.c.o.d"
  "CMakeFiles/capsrun_io.dir/native/io/sha256.c.o"
  "CMakeFiles/capsrun_io.dir/native/io/sha256.c.o.d"
  "CMakeFiles/capsrun_io.dir/native/io/tensorio.c.o"
  "CMakeFiles/capsrun_io.dir/native/io/tensorio.c.o.d"
  "libcapsrun_io.a"
  "libcapsrun_io.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/capsrun_io.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
