file(REMOVE_RECURSE
  "CMakeFiles/fuzz-long"
)

# Per-language clean rules from dependency scanning.
foreach(lang )
  include(CMakeFiles/fuzz-long.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
