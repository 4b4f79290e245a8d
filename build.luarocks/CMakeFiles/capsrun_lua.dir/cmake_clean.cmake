file(REMOVE_RECURSE
  "lua/capsrun/native.pdb"
  "lua/capsrun/native.so"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/capsrun_lua.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
