-- capsrun as a Lua library: a clean build installed into a temporary
-- prefix, then Debian's stock lua5.4 requires it, and the installed
-- executable finds its own Lua modules and experiments.
local H = require "spec.helpers"

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok, _, code = p:close()
  return ok and 0 or code, out
end

describe("cmake --install", function()
  local prefix
  setup(function() prefix = H.tmpdir() end)
  teardown(function() H.rm_rf(prefix) end)

  it("installs a library that lua5.4 can require, and a working executable", function()
    local build = prefix .. "/build"
    -- a plain (not sanitized) build: lua5.4 itself is not built with ASan
    local code, out = sh(("env -u ASAN_OPTIONS -u LSAN_OPTIONS -u UBSAN_OPTIONS cmake -S . -B %s " ..
      "-DCMAKE_BUILD_TYPE=Release -DCAPSRUN_SANITIZE= > /dev/null && cmake --build %s -j2 > /dev/null && " ..
      "cmake --install %s --prefix %s"):format(build, build, build, prefix))
    assert.equal(0, code, out)
    for _, f in ipairs{"/bin/capsrun", "/lib/lua/5.4/capsrun/native.so", "/share/lua/5.4/capsrun/init.lua",
                       "/share/lua/5.4/capsrun/CapsNet.lua", "/share/capsrun/experiments/classify.lua"} do
      assert.is_true(H.exists(prefix .. f), f)
    end
    local env = ("LUA_PATH='%s/share/lua/5.4/?.lua;%s/share/lua/5.4/?/init.lua;;' LUA_CPATH='%s/lib/lua/5.4/?.so;;'")
      :format(prefix, prefix, prefix)
    code, out = sh(env .. [[ lua5.4 -e 'local c = require "capsrun"; print(c.CapsNet.new()); ]] ..
      [[print(c.CapsNet.new():num_parameters(), c.zeros(2, 3):numel())']])
    assert.equal(0, code, out)
    assert.truthy(out:find("(4) DigitCaps(1152 x 8D -> 10 x 16D, 3 routing iterations)", 1, true), out)
    assert.truthy(out:find("6804224\t6", 1, true), out)
    -- the installed executable uses the installed modules, wherever the source tree is
    code, out = sh(("cd / && %s/bin/capsrun -e 'print(package.searchpath(\"capsrun.CapsNet\", package.path))'")
      :format(prefix))
    assert.equal(0, code, out)
    assert.truthy(out:find(prefix .. "/bin/../share/lua/5.4/capsrun/CapsNet.lua", 1, true), out)
    code, out = sh(("cd / && %s/bin/capsrun %s/share/capsrun/experiments/classify.lua --help"):format(prefix, prefix))
    assert.equal(0, code, out)
    assert.truthy(out:find("--precision", 1, true), out)
  end)
end)
