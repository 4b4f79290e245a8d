/* Poisoned on purpose: kernels and io are pure C and must not see Lua.
 * Bindings belong in native/lua/ (docs/architecture.md). */
#error "native/kernels and native/io must not include Lua headers"
