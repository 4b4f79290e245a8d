-- The capsrun executable itself: scripts, -e, the REPL, errors and exit codes.
local H = require "spec.helpers"

describe("capsrun host", function()
  local dir
  setup(function() dir = H.tmpdir() end)
  teardown(function() H.rm_rf(dir) end)

  it("runs a script with the usual arg table and the library preloaded", function()
    local script = dir .. "/s.lua"
    H.write(script, "print(arg[0], arg[1], arg[2], select('#', ...), capsrun.zeros(2, 3):numel())")
    local code, out = H.run(script .. " a b")
    assert.equal(0, code)
    assert.equal(script .. "\ta\tb\t2\t6\n", out)
  end)

  it("runs -e code", function()
    local code, out = H.run("-e 'print(capsrun.matmul(capsrun.ones(2, 2), capsrun.ones(2, 2)):sum())'")
    assert.equal(0, code)
    assert.equal("8.0\n", out)
  end)

  it("exits 1 with a traceback on an uncaught error", function()
    local script = dir .. "/bad.lua"
    H.write(script, "local function f() capsrun.zeros(2):get(5) end\nf()\n")
    local code, out = H.run(script)
    assert.equal(1, code)
    assert.truthy(out:find("out of range", 1, true))
    assert.truthy(out:find("stack traceback", 1, true))
    assert.truthy(out:find("bad.lua:1", 1, true))
  end)

  it("exits 1 on a syntax error, a missing script, and an unknown option", function()
    local script = dir .. "/syntax.lua"
    H.write(script, "x = = 1")
    assert.equal(1, (H.run(script)))
    assert.equal(1, (H.run(dir .. "/missing.lua")))
    assert.equal(1, (H.run("-Z")))
  end)

  it("has a REPL that prints values and survives errors", function()
    local code, out = H.run("-i", "1 + 2\nerror('boom')\nx = capsrun.ones(3)\nx:sum()\nfor i = 1, 2 do\nprint('loop', i)\nend\n")
    assert.equal(0, code)
    assert.truthy(out:find("3\n", 1, true))
    assert.truthy(out:find("boom", 1, true))
    assert.truthy(out:find("3.0", 1, true))
    assert.truthy(out:find("loop\t2", 1, true))
    -- a statement prints nothing, not even on the first line
    local _, quiet = H.run("-i", "y = 1\n")
    assert.is_nil(quiet:find("userdata", 1, true), quiet)
    assert.is_nil(quiet:match("\n1\t"), quiet)
  end)

  it("prints its version and help", function()
    local code, out = H.run("-v")
    assert.equal(0, code)
    assert.truthy(out:find("capsrun %d"))
    local code2, out2 = H.run("-h")
    assert.equal(0, code2)
    assert.truthy(out2:find("usage"))
  end)
end)
