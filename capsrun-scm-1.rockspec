-- LuaRocks: `luarocks make` in this folder builds the C module with CMake
-- and installs the Lua modules, the C module and the capsrun executable
-- into the rocks tree. The system libraries come from Debian (tools/deps.sh).
package = "capsrun"
version = "scm-1"
source = {url = "git+file:///capsrun"}
description = {
  summary = "Capsule networks in Lua, with the math in C (OpenBLAS, oneDNN, OpenMP)",
  detailed = [[
    Tensors, capsule layers (dynamic routing), criterions, optimisers and
    training loops; CapsNet (Sabour, Frosst & Hinton 2017). require "capsrun".
  ]],
  license = "MIT",
}
dependencies = {"lua >= 5.4, < 5.5"}
-- OpenBLAS, cairo, libcurl and OpenMPI are found by CMake (pkg-config, which
-- knows Debian's multiarch folders); these LuaRocks can check itself
external_dependencies = {
  PNG = {header = "png.h"},
  JPEG = {header = "jpeglib.h"},
  ZLIB = {header = "zlib.h"},
}
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    CAPSRUN_LUA_DIR = "$(LUADIR)",
    CAPSRUN_LUA_CDIR = "$(LIBDIR)",
    CAPSRUN_NATIVE_ARCH = "OFF",   -- a rock may be built on one machine and used on another
  },
}
