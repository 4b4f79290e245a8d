-- Every Lua file of the repository through luacheck (.luacheckrc): a read of
-- an undefined global (a local used above its definition, a typo) fails the
-- suite instead of reaching a user as "attempt to call a nil value".
describe("luacheck", function()
  it("finds nothing in lua/, experiments/, tools/, bench/, spec/ and fuzz/", function()
    local p = assert(io.popen("luacheck --no-color --formatter plain . 2>&1; echo \"rc=$?\""))
    local out = p:read("a"); p:close()
    assert.truthy(out:find("rc=0", 1, true), "luacheck (apt-get install lua-check) reports:\n" .. out)
  end)
end)
