-- Every native function called with hostile arguments: wrong types, negative
-- and huge sizes, empty and mismatched tensors. Each call must return or
-- raise a Lua error with a message: never crash the host.
local capsrun = require "capsrun"
local T = capsrun.native

-- functions whose side effects the argument lists below could trigger
local SKIP = {mkdir = true, save_tensors = true, download = true, set_threads = true, remove_stale_temps = true,
              write_png_grid = true, plot_curves = true}

local function hostile_args()
  local big = T.zeros(2, 3, 4, 5)
  return {
    {}, {nil}, {-1}, {0}, {1 << 62}, {-(1 << 62)}, {0 / 0}, {math.huge}, {{}}, {true},
    {T.zeros(0)}, {T.zeros(3)}, {big}, {big, big}, {T.zeros(2, 2), T.zeros(3)},
    {T.zeros(1, 1, 1, 1), T.zeros(1, 1, 1, 1), T.zeros(1), 1, {}},
    {T.zeros(2, 3, 4, 5), T.zeros(3, 3, 9, 9), T.zeros(3), 0, {}},
    {T.zeros(2, 5, 8), -3, {}}, {T.zeros(2, 5, 4, 3), 1 << 40, {}}, {T.zeros(2, 2), T.new{5, -1}, 1, 1, 1, {}},
    {T.zeros(4), T.zeros(4), T.zeros(4), T.zeros(4), -1, 2, 2, 0, 0},
    {"/nonexistent/file"}, {T.zeros(2, 2), {ws = 1}},
  }
end

describe("native functions under misuse", function()
  it("raise Lua errors with messages, never crash", function()
    local names = {}
    for name, f in pairs(T) do
      if type(f) == "function" and not SKIP[name] then names[#names + 1] = name end
    end
    table.sort(names)
    local calls, errors = 0, 0
    for _, name in ipairs(names) do
      for _, args in ipairs(hostile_args()) do
        local ok, err = pcall(T[name], table.unpack(args, 1, 9))
        calls = calls + 1
        if not ok then
          errors = errors + 1
          assert.equal("string", type(err), name)
          -- the message names the function (Lua's "bad argument #n to 'f'" may name it by
          -- an alias: capsrun.tensor is native.new) and says what was wrong
          assert.truthy(err:find(name, 1, true) or err:find("bad argument #%d+ to '"), name .. ": " .. err)
          assert.truthy(err:find("expected", 1, true) or err:find("cannot", 1, true) or err:find("not ", 1, true)
            or err:find("no ", 1, true) or err:find("invalid", 1, true) or err:find("out of range", 1, true),
            name .. ": " .. err)
        end
      end
    end
    assert.is_true(#names > 40, #names .. " functions")
    assert.is_true(errors > calls / 2, ("%d of %d calls raised"):format(errors, calls))
  end)

  it("tensor and generator methods raise named errors too, never crash", function()
    local methods = {}
    for kind, obj in pairs{tensor = T.zeros(2, 3), generator = T.generator(1)} do
      for name, f in pairs(getmetatable(obj).__index) do
        if type(f) == "function" then methods[#methods + 1] = {kind, name, f} end
      end
    end
    table.sort(methods, function(a, b) return a[1] .. a[2] < b[1] .. b[2] end)
    local calls, errors = 0, 0
    for _, m in ipairs(methods) do
      for _, args in ipairs(hostile_args()) do
        local self = m[1] == "tensor" and T.zeros(2, 3) or T.generator(1)
        local ok, err = pcall(m[3], self, table.unpack(args, 1, 9))
        calls = calls + 1
        if not ok then
          errors = errors + 1
          assert.equal("string", type(err), m[2])
          local named = ({view = "reshape"})[m[2]] or m[2]   -- view is reshape under another name
          assert.truthy(err:find("bad argument", 1, true) or err:find(named, 1, true), m[2] .. ": " .. err)
        end
      end
    end
    assert.is_true(#methods > 25, #methods .. " methods")
    assert.is_true(errors > calls / 4, ("%d of %d calls raised"):format(errors, calls))
  end)

  it("name the function and what was expected", function()
    local _, e1 = pcall(T.conv2d_forward, T.zeros(1, 2, 5, 5), T.zeros(3, 1, 3, 3), T.zeros(3), 1, {})
    assert.truthy(e1:find("conv2d_forward", 1, true) and e1:find("expected", 1, true), e1)
    local _, e2 = pcall(T.caps_route_forward, T.zeros(2, 3, 4), 3, {})
    assert.truthy(e2:find("caps_route_forward", 1, true) and e2:find("4-D tensor expected", 1, true), e2)
    local _, e3 = pcall(T.linear_forward, "x")
    assert.truthy(e3:find("linear_forward", 1, true) and e3:find("capsrun.Tensor expected", 1, true), e3)
    local _, e4 = pcall(T.caps_route_forward, T.zeros(1, 2, 3, 4), 0, {})
    assert.truthy(e4:find("integer in [1, 100] expected", 1, true), e4)
  end)

  it("refuse hostile arguments to the functions with side effects", function()
    assert.error_matches(function() T.set_threads(0) end, "integer in %[1, 1024%]")
    assert.error_matches(function() T.write_png_grid("/tmp/x.png", T.zeros(0, 3)) end, "non%-empty")
    assert.error_matches(function() T.plot_curves("/tmp/x.png", {width = 10}) end, "width and height")
    assert.error_matches(function() T.save_tensors("/tmp/capsrun-misuse", {x = 1}) end, "name = tensor")
  end)
end)
