local capsrun = require "capsrun"
local T = capsrun.native

describe("tensor", function()
  it("creates zeros, ones and tensors from nested tables", function()
    local z = T.zeros(2, 3)
    assert.same({2, 3}, z:size())
    assert.equal(0, z:sum())
    assert.equal(6, T.ones{2, 3}:sum())
    local t = T.new{{1, 2, 3}, {4, 5, 6}}
    assert.same({{1, 2, 3}, {4, 5, 6}}, t:totable())
    assert.equal(2, t:dim())
    assert.equal(6, t:numel())
    assert.equal(2, #t)
    assert.equal(3, t:size(-1))
  end)

  it("rejects ragged tables, non-numbers and too many dimensions", function()
    assert.has_error(function() T.new{{1, 2}, {3}} end)
    assert.error_matches(function() T.new{{1, "x"}} end, "number expected")
    assert.error_matches(function() T.zeros(1, 1, 1, 1, 1, 1) end, "at most 5")
    assert.error_matches(function() T.zeros(-1) end, "%[0,")
    assert.error_matches(function() T.zeros(1 << 20, 1 << 20, 1 << 20) end, "too large")
  end)

  it("reshapes as a view sharing storage, inferring -1", function()
    local t = T.new{{1, 2, 3}, {4, 5, 6}}
    local v = t:reshape(3, -1)
    assert.same({3, 2}, v:size())
    v:set(1, 1, 10)
    assert.equal(10, t:get(1, 1))
    assert.error_matches(function() t:reshape(4, 2) end, "holds 8 elements")
    assert.error_matches(function() t:reshape(4, -1) end, "cannot infer")
  end)

  it("keeps a view valid after its base is collected", function()
    local v = T.new{1, 2, 3, 4}:reshape(2, 2)
    collectgarbage(); collectgarbage()
    assert.equal(4, v:get(2, 2))
  end)

  it("gets and sets elements with range checks", function()
    local t = T.zeros(2, 2)
    t:set(2, 1, 5)
    assert.equal(5, t:get(2, 1))
    assert.error_matches(function() t:get(3, 1) end, "out of range")
    assert.error_matches(function() t:get(1) end, "2 indices expected")
    assert.error_matches(function() t:set(0, 1, 1) end, "out of range")
  end)

  it("does elementwise arithmetic with tensors and numbers", function()
    local a, b = T.new{1, 2, 3}, T.new{4, 5, 6}
    assert.same({5, 7, 9}, (a + b):totable())
    assert.same({-3, -3, -3}, (a - b):totable())
    assert.same({4, 10, 18}, (a * b):totable())
    assert.same({0.25, 0.5}, {(a / b):get(1), (a / b):get(3)})
    assert.same({2, 4, 6}, (a * 2):totable())
    assert.same({0, -1, -2}, (1 - a):totable())
    assert.same({-1, -2, -3}, (-a):totable())
    a:add_(b, 2)
    assert.same({9, 12, 15}, a:totable())
    a:mul_(0.5)
    assert.same({4.5, 6, 7.5}, a:totable())
    assert.error_matches(function() return T.zeros(2) + T.zeros(3) end, "differ")
  end)

  it("reduces: sum, mean, max, min, norm, dot, argmax", function()
    local t = T.new{{3, -1, 2}, {0, 5, 1}}
    assert.equal(10, t:sum())
    assert.near(10 / 6, t:mean(), 1e-12)
    local mx, at = t:max()
    assert.equal(5, mx); assert.equal(5, at)
    assert.equal(-1, (t:min()))
    assert.near(math.sqrt(40), t:norm(), 1e-6)
    assert.equal(3 * 3 + 25 + 4 + 1 + 1, t:dot(t))
    assert.same({0, 1}, t:argmax():totable())
  end)

  it("multiplies matrices through sgemm and transposes", function()
    local a = T.new{{1, 2, 3}, {4, 5, 6}}
    local b = T.new{{1, 0}, {0, 1}, {1, 1}}
    assert.same({{4, 5}, {10, 11}}, T.matmul(a, b):totable())
    assert.same({{1, 4}, {2, 5}, {3, 6}}, a:t():totable())
    assert.error_matches(function() T.matmul(a, a) end, "inner dimensions differ")
    assert.error_matches(function() T.matmul(a, T.zeros(3)) end, "2%-D tensor expected")
    -- an empty inner dimension is an empty sum: zeros, not whatever the memory held
    assert.same({{0, 0, 0}, {0, 0, 0}}, T.matmul(T.zeros(2, 0), T.zeros(0, 3)):totable())
    -- a larger product against sums in Lua (the GEMM goes through matmul.c as the convolutions' do)
    local x, y = T.zeros(7, 33):uniform_(T.generator(1)), T.zeros(33, 5):uniform_(T.generator(2))
    local p = T.matmul(x, y)
    for i = 1, 7 do for j = 1, 5 do
      local s = 0
      for k = 1, 33 do s = s + x:get(i, k) * y:get(k, j) end
      assert.near(s, p:get(i, j), 1e-4)
    end end
  end)

  it("selects and narrows rows", function()
    local t = T.new{{1, 1}, {2, 2}, {3, 3}}
    assert.same({{3, 3}, {1, 1}}, T.index_select(t, T.new{2, 0}):totable())
    assert.same({{2, 2}, {3, 3}}, t:narrow(2, 2):totable())
    assert.error_matches(function() T.index_select(t, T.new{3}) end, "not a row")
    assert.has_error(function() t:narrow(3, 2) end)
  end)

  it("concatenates along the first dimension, checking the others", function()
    local c = T.cat{T.new{{1, 2}}, T.new{{3, 4}, {5, 6}}}
    assert.same({{1, 2}, {3, 4}, {5, 6}}, c:totable())
    assert.error_matches(function() T.cat{T.zeros(1, 2), T.zeros(1, 3)} end, "entry 2 has shape %(1, 3%)")
    assert.error_matches(function() T.cat{T.zeros(2), "x"} end, "entry 2 is not a tensor")
    assert.error_matches(function() T.cat{} end, "non%-empty list")
  end)

  it("prints its shape and values", function()
    local s = tostring(T.new{{1, 2}, {3, 4}})
    assert.truthy(s:find("shape %(2, 2%)"))
    assert.truthy(s:find("^%s*1%s+2%s*\n%s*3%s+4%s*\n"), s)   -- row by row, in order
  end)

  it("copies and fills, checking sizes", function()
    local a = T.zeros(2, 2):fill_(3)
    local b = T.zeros(4):copy_(a)
    assert.equal(12, b:sum())
    assert.error_matches(function() T.zeros(3):copy_(a) end, "has 4 elements")
    local c = a:clone(); c:fill_(0)
    assert.equal(12, a:sum())
  end)

  it("refuses wrong types with a message naming the argument", function()
    assert.error_matches(function() T.zeros(2):add_("x") end, "capsrun.Tensor expected")
    assert.error_matches(function() T.matmul({}, T.zeros(2, 2)) end, "bad argument #1")
  end)
end)

describe("generator", function()
  it("is deterministic for a seed and restores its state", function()
    local g1, g2 = T.generator(42), T.generator(42)
    local a = T.zeros(100):normal_(g1)
    local b = T.zeros(100):normal_(g2)
    assert.equal(0, (a - b):norm())
    local state = g1:state()
    local x = g1:uniform()
    g1:set_state(state)
    assert.equal(x, g1:uniform())
    assert.error_matches(function() g1:set_state("short") end, "32 bytes")
  end)

  it("draws uniform and normal values with the right moments", function()
    local g = T.generator(1)
    local u = T.zeros(20000):uniform_(g, -1, 3)
    assert.near(1, u:mean(), 0.05)
    assert.is_true(u:min() >= -1 and u:max() < 3)
    local n = T.zeros(20000):normal_(g, 2, 0.5)
    assert.near(2, n:mean(), 0.02)
    assert.near(0.5, (n - n:mean()):norm() / math.sqrt(20000), 0.02)
  end)

  it("makes permutations of 0..n-1", function()
    local p = T.generator(3):permutation(50)
    local seen = {}
    for i = 1, 50 do seen[p:get(i)] = true end
    for k = 0, 49 do assert.is_true(seen[k]) end
    assert.is_true(p:get(1) ~= 0 or p:get(2) ~= 1 or p:get(3) ~= 2)
  end)
end)
