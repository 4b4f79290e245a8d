-- capsrun.autograd: every op's gradient against central finite differences
-- in double precision of the summed, randomly weighted output; hostile
-- arguments are Lua errors naming the op; buffers are reused across steps.
local capsrun = require "capsrun"
local T = capsrun.native
local ag = capsrun.autograd

-- L(x...) = sum(f(x...) .* R): analytic gradient of every input vs differences
local function check(name, f, inputs, opts)
  opts = opts or {}
  local g = T.generator(11)
  local tape = ag.tape()
  local function run()
    tape:reset()
    local vars = {}
    for i, x in ipairs(inputs) do vars[i] = tape:leaf(x, nil, true) end
    return f(table.unpack(vars)), vars
  end
  local out, vars = run()
  local R = T.zeros(out.value:size()):uniform_(g, -1, 1)
  tape:backward(out, R)
  local grads = {}
  for i, v in ipairs(vars) do grads[i] = ag.grad_of(v):clone() end
  local h = opts.h or 1e-3
  for i, x in ipairs(inputs) do
    local flat, gflat = x:view(-1), grads[i]:view(-1)
    for k = 1, flat:numel() do
      local v0 = flat:get(k)
      flat:set(k, v0 + h); local lp = run().value:dot(R)
      flat:set(k, v0 - h); local lm = run().value:dot(R)
      flat:set(k, v0)
      local num, ana = (lp - lm) / (2 * h), gflat:get(k)
      assert(math.abs(num - ana) <= (opts.tol or 2e-2) * math.max(1, math.abs(num)),
        ("%s: input %d, element %d: finite difference %.6g, backward %.6g"):format(name, i, k, num, ana))
    end
  end
end

local function rand(seed, lo, hi, ...) return T.zeros(...):uniform_(T.generator(seed), lo, hi) end

describe("autograd ops", function()
  it("elementwise binary ops, with broadcasting on either side", function()
    for _, op in ipairs{"add", "sub", "mul", "div"} do
      check(op .. " same shape", ag[op], {rand(1, 0.5, 2, 3, 4), rand(2, 0.5, 2, 3, 4)})
      check(op .. " row broadcast", ag[op], {rand(3, 0.5, 2, 2, 3, 4), rand(4, 0.5, 2, 4)})
      check(op .. " both broadcast", ag[op], {rand(5, 0.5, 2, 3, 1), rand(6, 0.5, 2, 1, 4)})
      check(op .. " scalar", function(a) return ag[op](a, 1.5) end, {rand(7, 0.5, 2, 5)})
      check(op .. " scalar left", function(a) return ag[op](2.5, a) end, {rand(8, 0.5, 2, 5)})
    end
    check("operators", function(a, b) return (a + b) * a - b / a + (-a) ^ 2 end, {rand(9, 0.5, 2, 2, 3), rand(10, 0.5, 2, 3)})
  end)

  it("elementwise unary ops", function()
    for _, op in ipairs{"neg", "exp", "log", "sqrt", "abs", "relu", "sigmoid", "tanh", "sin", "cos", "softplus"} do
      local x = rand(20, 0.2, 1.5, 3, 4)
      if op ~= "log" and op ~= "sqrt" then x = x - 0.85 end   -- both signs, away from 0 (abs, relu kinks)
      for k = 1, x:numel() do local v = x:view(-1):get(k); if math.abs(v) < 0.05 then x:view(-1):set(k, 0.3) end end
      check(op, ag[op], {x})
    end
    -- softplus beyond 20 is x itself, exactly
    local big = T.new{-30, -1, 0, 1, 25}
    local tape = ag.tape()
    local sp = ag.softplus(tape:leaf(big)).value
    local want = {math.log(1 + math.exp(-30)), math.log(1 + math.exp(-1)), math.log(2), math.log(1 + math.exp(1)), 25}
    for k = 1, 5 do assert.near(want[k], sp:get(k), 1e-6 * math.max(1, want[k])) end
    assert.is_true(sp:get(1) > 0)
    check("pow", function(x) return x:pow(3) end, {rand(21, 0.5, 1.5, 6)})
    check("pow -0.5", function(x) return x:pow(-0.5) end, {rand(22, 0.5, 1.5, 6)})
  end)

  it("reductions over every axis, kept or dropped, and softmax, log-softmax, squash, norm", function()
    local x = rand(30, -1, 1, 2, 3, 4)
    for axis = -3, 3 do
      if axis ~= 0 then
        for _, op in ipairs{"sum", "mean", "max", "logsumexp", "norm"} do
          check(op .. " axis " .. axis, function(v) return ag[op](v, axis, axis % 2 == 0) end, {x:clone()})
        end
        check("softmax " .. axis, function(v) return v:softmax(axis) end, {x:clone()})
        check("log_softmax " .. axis, function(v) return v:log_softmax(axis) end, {x:clone()})
        check("squash " .. axis, function(v) return v:squash(axis) end, {x:clone()})
        check("layer_norm " .. axis, function(v) return v:layer_norm(axis) end, {x:clone()})
      end
    end
    assert.same({2, 4}, (function() local t = ag.tape(); return t:leaf(x, nil, true):sum(2).value:size() end)())
    -- the fused layer norm is the composition of the ops it replaced, forward and backward
    local function composed(v, axis, eps)
      local centred = v - v:mean(axis, true)
      return centred / ((centred * centred):mean(axis, true) + eps):sqrt()
    end
    local function rel(a, b) return (a - b):norm() / b:norm() end
    local R = T.zeros(2, 3, 4):uniform_(T.generator(12), -1, 1)
    for _, axis in ipairs{1, -1} do
      local values, grads = {}, {}
      for k, f in ipairs{function(v) return v:layer_norm(axis, 1e-3) end, function(v) return composed(v, axis, 1e-3) end} do
        local tape = ag.tape()
        local v = tape:leaf(x:clone(), nil, true)
        local y = f(v)
        tape:backward(y, R)
        values[k], grads[k] = y.value:clone(), ag.grad_of(v):clone()
      end
      assert.is_true(rel(values[1], values[2]) < 1e-6 and rel(grads[1], grads[2]) < 1e-5,
        ("axis %d: %g %g"):format(axis, rel(values[1], values[2]), rel(grads[1], grads[2])))
    end
    assert.error_matches(function() local t = ag.tape(); t:leaf(x):layer_norm(4) end,
      "tape_layer_norm: axis 4 out of range for a tensor of shape %(2, 3, 4%)")
    for _, training in ipairs{true, false} do
      check("batch_norm " .. tostring(training), function(v, w, b)
        return v:batch_norm(w, b, T.zeros(3):fill_(0.1), T.ones(3):fill_(0.7), training, 0.9, 1e-3)
      end, {rand(31, -1, 1, 4, 3, 5), rand(32, 0.5, 1.5, 3), rand(33, -1, 1, 3)}, {tol = 3e-2})
    end
  end)

  it("batched matmul with broadcasting over leading dimensions", function()
    check("matmul 2-D", ag.matmul, {rand(40, -1, 1, 3, 4), rand(41, -1, 1, 4, 2)})
    check("matmul batched", ag.matmul, {rand(42, -1, 1, 2, 3, 4), rand(43, -1, 1, 2, 4, 5)})
    check("matmul broadcast a", ag.matmul, {rand(44, -1, 1, 3, 4), rand(45, -1, 1, 2, 2, 4, 5)})
    check("matmul broadcast both", ag.matmul, {rand(46, -1, 1, 2, 1, 3, 4), rand(47, -1, 1, 1, 3, 4, 2)})
    check("matmul large (BLAS)", ag.matmul, {rand(48, -1, 1, 40, 41), rand(49, -1, 1, 41, 42)}, {tol = 3e-2})
  end)

  it("reshape, permute, transpose, expand, narrow, cat, detach and caps_predict", function()
    local x = rand(50, -1, 1, 2, 3, 4)
    check("reshape", function(v) return (v:reshape(6, 4) * 2):reshape(4, 6) end, {x:clone()})
    check("permute", function(v) return v:permute{3, 1, 2} * v:permute{3, 1, 2} end, {x:clone()})
    check("transpose", function(v) return v:transpose(1, -1) end, {x:clone()})
    check("expand", function(v) return v:expand{2, 3, 4} end, {rand(51, -1, 1, 3, 1)})
    check("narrow", function(v) return v:narrow(3, 2, 2) end, {x:clone()})
    check("index_select with repeats", function(v) return v:index_select(2, T.new{2, 0, 2}) end, {x:clone()})
    check("index_select last axis", function(v) return v:index_select(-1, T.new{3, 1}) end, {x:clone()})
    check("cat", function(a, b) return ag.cat({a, b, a}, 2) end, {x:clone(), rand(52, -1, 1, 2, 1, 4)})
    -- detach: the same value, but no gradient through it: d(v * detach(v)) = detach(v)
    local t = ag.tape()
    local v = t:leaf(x, nil, true)
    local R = rand(55, -1, 1, 2, 3, 4)
    t:backward(v * v:detach(), R)
    assert.is_true((v.grad - x * R):norm() < 1e-6)
    check("caps_predict", ag.caps_predict, {rand(53, -1, 1, 2, 3, 4), rand(54, -1, 1, 3, 2, 5, 4)})
  end)

  it("all_sum: in one process its input itself, its gradient times the scale (MPI: spec/dist_spec.lua)", function()
    check("all_sum", function(v) return ag.all_sum(v * v) end, {rand(56, -1, 1, 3, 4)})
    local t = ag.tape()
    local x = rand(57, -1, 1, 3, 4)
    local v = t:leaf(x, nil, true)
    local R = rand(58, -1, 1, 3, 4)
    local y = ag.all_sum(v, 2.5)
    assert.equal(0, (y.value - x):norm())
    t:backward(y, R)
    assert.is_true((v.grad - R * 2.5):norm() < 1e-6)
  end)

  it("a graph reused by many ops accumulates every gradient", function()
    check("shared", function(v) return v:exp() + v:sigmoid() * v - v:sum(1, true) end, {rand(60, -1, 1, 3, 2)})
  end)
end)

describe("autograd misuse", function()
  local function fails(pattern, fn)
    local ok, err = pcall(fn)
    assert.is_false(ok)
    assert.truthy(tostring(err):find(pattern), tostring(err))
  end

  it("names the op and the shapes; never a crash", function()
    local t = ag.tape()
    local a, b = t:leaf(T.zeros(2, 3), nil, true), t:leaf(T.zeros(4, 3), nil, true)
    fails("add: shapes %(2, 3%) and %(4, 3%) do not broadcast", function() return a + b end)
    fails("matmul: shapes %(2, 3%) and %(4, 3%) do not multiply", function() return a:matmul(b) end)
    fails("sum: axis 3 out of range for a tensor of shape %(2, 3%)", function() return a:sum(3) end)
    fails("softmax: axis %-3 out of range", function() return a:softmax(-3) end)
    fails("permute: a permutation of 1..2 expected", function() return a:permute{1, 1} end)
    fails("expand: a tensor of shape %(2, 3%) cannot expand to %(4, 3%)", function() return a:expand{4, 3} end)
    fails("slice: elements 3..4 of an axis of 3", function() return a:narrow(2, 3, 2) end)
    fails("index 2 is 3, not a whole number in %[0, 2%]", function() return a:index_select(2, T.new{0, 3}) end)
    fails("index 1 is 0.5", function() return a:index_select(1, T.new{0.5}) end)
    fails("pow: a number exponent expected", function() return a:pow(b) end)
    fails("reshape: shape", function() return a:reshape(5) end)
    fails("values from two different tapes", function() return a + ag.tape():leaf(T.zeros(2, 3), nil, true) end)
    fails("tape:leaf: tensor expected", function() return t:leaf(3) end)
  end)

  it("refuses backward twice, and through a graph freed by a newer forward", function()
    local t = ag.tape()
    local x = t:leaf(T.ones(3), nil, true)
    local y = (x * 2):sum(1)
    y:backward()
    fails("called twice", function() y:backward() end)
    t:reset()
    fails("freed", function() y:backward() end)
    fails("freed graph", function() return x + 1 end)
    local z = t:leaf(T.ones(3), nil, true):sum(1)
    fails("a gradient tensor of 1 values expected", function() t:backward(z, T.ones(2)) end)
  end)
end)

describe("autograd memory", function()
  it("reuses every buffer from the second step on", function()
    local t = ag.tape()
    local w = T.zeros(4, 3):uniform_(T.generator(1), -1, 1)
    local gw = T.zeros(4, 3)
    local function step()
      t:reset()
      local x = t:leaf(T.ones(2, 4), nil, true)
      local y = x:matmul(t:leaf(w, gw)):softmax(2):log():sum(2)
      t:backward(y, T.ones(2))
      local kept = {}
      for k, v in pairs(t.values) do kept[k] = v end
      for k, v in pairs(t.grads) do kept["g" .. k] = v end
      return kept
    end
    step()
    local a = step()
    local b = step()
    local n = 0
    for k, v in pairs(a) do assert.equal(v, b[k], "buffer " .. k .. " was reallocated"); n = n + 1 end
    assert.is_true(n >= 6)
  end)

  it("keeps resident memory flat over 1,000 training steps of a CapsNet head with routing in Lua", function()
    local function rss_kib()
      local f = io.open("/proc/self/statm")
      if not f then return 0 end
      local pages = tonumber(f:read("a"):match("^%d+%s+(%d+)"))
      f:close()
      return pages * 4
    end
    local g = T.generator(2)
    local caps = capsrun.RoutedCaps.new(72, 8, 10, 16, 3, g, "dynamic-lua")
    local u = T.zeros(16, 72, 8):uniform_(g, -1, 1)
    local gout = T.zeros(16, 10, 16):uniform_(g, -1, 1)
    local opt = capsrun.optim.Adam.new(caps:parameters())
    local function step() caps:zero_grad(); caps:forward(u); caps:backward(u, gout); opt:step() end
    -- under AddressSanitizer (tools/sanitize.sh) freed memory sits in its quarantine, so resident
    -- memory grows with the small Lua objects of each step: the measure means something only without
    -- it, and a few steps check the rest
    local asan = os.getenv("ASAN_OPTIONS") ~= nil
    if asan then for _ = 1, 20 do step() end; return end
    for _ = 1, 100 do step() end
    collectgarbage(); collectgarbage()
    local before = rss_kib()
    for _ = 1, 1000 do step() end
    collectgarbage(); collectgarbage()
    local grew = rss_kib() - before
    assert.is_true(grew < 2048, ("resident memory grew by %d KiB over 1,000 steps"):format(grew))
  end)
end)
