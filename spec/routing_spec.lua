-- Routings written in Lua (capsrun.routing) on the autograd tape: dynamic
-- routing equals the fused C kernel; RoutedCaps keeps the Module contract
-- inside a Sequential of hand-written C modules.
local capsrun = require "capsrun"
local T = capsrun.native
local ag = capsrun.autograd
local gradcheck = capsrun.gradcheck

local H = require "spec.helpers"
local rel = H.rel

describe("routing in Lua", function()
  it("dynamic routing equals the C kernel within 1e-5: values and input gradients, 1 to 4 iterations", function()
    local g = T.generator(3)
    local uhat = T.zeros(4, 30, 6, 8):normal_(g, 0, 0.5)
    local gv = T.zeros(4, 6, 8):uniform_(g, -1, 1)
    for iters = 1, 4 do
      local ws = {}
      local vc = T.caps_route_forward(uhat, iters, ws):clone()
      local gc = T.caps_route_backward(uhat, gv, ws):clone()
      local tape = ag.tape()
      local x = tape:leaf(uhat, nil, true)
      local v = capsrun.routing["dynamic-lua"](x, iters)
      tape:backward(v, gv)
      assert.is_true(rel(v.value, vc) < 1e-5, "forward, iterations " .. iters)
      assert.is_true(rel(x.grad, gc) < 1e-5, "gradient, iterations " .. iters)
    end
  end)

  it("with detach: the same values, gradients only through the last iteration's predictions", function()
    local g = T.generator(4)
    local uhat = T.zeros(2, 12, 3, 4):normal_(g, 0, 0.5)
    local gv = T.zeros(2, 3, 4):uniform_(g, -1, 1)
    local function run(route)
      local tape = ag.tape()
      local x = tape:leaf(uhat, nil, true)
      local v = route(x, 3)
      tape:backward(v, gv)
      return v.value:clone(), x.grad:clone()
    end
    local v1, g1 = run(capsrun.routing["dynamic-lua"])
    local v2, g2 = run(capsrun.routing["dynamic-lua-detach"])
    assert.is_true(rel(v2, v1) < 1e-6)
    assert.is_true(rel(g2, g1) > 1e-3, "detaching changed nothing")
    -- with one iteration there is nothing to detach
    local _, a = (function() local t = ag.tape(); local x = t:leaf(uhat, nil, true)
      t:backward(capsrun.routing["dynamic-lua-detach"](x, 1), gv); return nil, x.grad:clone() end)()
    local ws = {}
    T.caps_route_forward(uhat, 1, ws)
    assert.is_true(rel(a, T.caps_route_backward(uhat, gv, ws)) < 1e-5)
  end)

  it("RoutedCaps equals DigitCaps on the same weights: output, input and weight gradients", function()
    local g = T.generator(5)
    local c = capsrun.DigitCaps.new(20, 4, 5, 6, 3, g)
    local l = capsrun.RoutedCaps.new(20, 4, 5, 6, 3, g, "dynamic-lua")
    c.weight:normal_(T.generator(6), 0, 0.3)
    l.weight:copy_(c.weight)
    local u = T.zeros(3, 20, 4):uniform_(g, -1, 1)
    local gout = T.zeros(3, 5, 6):uniform_(g, -1, 1)
    for _ = 1, 2 do   -- twice: the second step runs on reused buffers
      c:zero_grad(); l:zero_grad()
      local oc, ol = c:forward(u):clone(), l:forward(u):clone()
      local gc, gl = c:backward(u, gout):clone(), l:backward(u, gout):clone()
      assert.is_true(rel(ol, oc) < 1e-5)
      assert.is_true(rel(gl, gc) < 1e-5)
      assert.is_true(rel(l.grad_weight, c.grad_weight) < 1e-5)
    end
    assert.truthy(tostring(l):find("RoutedCaps(20 x 4D -> 5 x 6D, dynamic-lua routing in Lua, 3 iterations)", 1, true))
  end)

  it("a Lua module inside a Sequential with C modules passes the gradient check", function()
    local g = T.generator(7)
    local Scale = capsrun.TapeModule.class("Scale")
    function Scale.new(n)
      local self = capsrun.TapeModule.new(Scale)
      self:add_parameter("weight", T.zeros(n):uniform_(g, 0.5, 1.5))
      return self
    end
    function Scale:compute(x, p) return (x * p.weight):tanh() end
    local m = capsrun.Sequential.new{capsrun.Linear.new(4, 6, g), Scale.new(6), capsrun.Sigmoid.new(),
      capsrun.Linear.new(6, 2, g)}
    local r = gradcheck.check(m, T.zeros(3, 4):uniform_(g, -1, 1), {samples = 30})
    assert.is_true(gradcheck.max_error(r) < 2e-2, "worst relative error " .. gradcheck.max_error(r))
    assert.equal(4 * 6 + 6 + 6 + 6 * 2 + 2, m:num_parameters())
    local caps = capsrun.RoutedCaps.new(6, 4, 3, 5, 2, g)
    caps.weight:normal_(g, 0, 0.5)
    r = gradcheck.check(caps, T.zeros(2, 6, 4):uniform_(g, -1, 1), {samples = 30})
    assert.is_true(gradcheck.max_error(r) < 2e-2, "RoutedCaps: worst relative error " .. gradcheck.max_error(r))
  end)

  it("CapsNet with routing in Lua: the same loss as the C kernel, saved and reloaded with its routing", function()
    local function model(routing)
      return capsrun.CapsNet.new{input = {1, 12, 12}, conv_channels = 4, conv_kernel = 3, primary_types = 2,
        primary_dim = 4, primary_kernel = 3, classes = 3, digit_dim = 4, routing = routing, gen = T.generator(8)}
    end
    local a, b = model("dynamic"), model("dynamic-lua")
    local x = T.zeros(2, 1, 12, 12):uniform_(T.generator(9), 0, 1)
    assert.is_true(rel(b:forward(x), a:forward(x)) < 1e-5)
    local dir = os.tmpname()
    capsrun.train.save(b, dir)
    local back = capsrun.train.load_model(dir)
    os.remove(dir)
    assert.equal("RoutedCaps", back.digitcaps.__name)
    assert.is_true(rel(back:forward(x), a:forward(x)) < 1e-5)
    assert.error_matches(function() model("nonsense") end, "unknown routing 'nonsense'")
    -- inverted dot-product routing: poses scored by PoseLogits and cross-entropy, as Tsai et al.
    local inv = model("inverted-dot")
    assert.equal("logits", inv.outputs)
    assert.same({2, 3}, inv:forward(x):size())
    assert.equal("CrossEntropyLoss", capsrun.train.classifier(inv).criterion.__name)
  end)

  it("classify.lua trains CapsNet with each routing written in Lua", function()
    local dir = H.tmpdir()
    for _, r in ipairs{"dynamic-lua", "self-attention", "inverted-dot"} do
      local code, out = H.run(("experiments/classify.lua --data %s --limit 256 --epochs 1 --conv-channels 16 "
        .. "--primary-types 4 --routing %s --save %s/%s/m.tensors"):format(H.mnist(), r, dir, r))
      assert.equal(0, code, out)
      assert.truthy(out:find("epoch 1 ", 1, true), out)
      local saved = T.load_tensors(("%s/%s/m.tensors"):format(dir, r)).config
      assert.truthy(saved:find("routing=" .. r, 1, true), saved)
    end
    H.rm_rf(dir)
  end)

  it("the README's own-routing walkthrough runs and its routing passes the gradient check", function()
    local f = assert(io.open("README.md"))
    local text = f:read("a"); f:close()
    local code = text:match("```lua\n(local capsrun = require \"capsrun\"\nlocal ag = capsrun.autograd.-)```")
    assert.truthy(code, "the walkthrough's code block")
    local printed = {}
    -- the walkthrough's layer draws its weights from the default generator: seeded as a fresh capsrun
    -- starts (seed 0, lua/capsrun/random.lua), so the check does not depend on which specs ran before
    -- (after spec/help_spec.lua alone, its draw gave 3% on one gradient)
    capsrun.manual_seed(0)
    local env = setmetatable({print = function(...) printed[#printed + 1] = table.concat({...}, " ") end}, {__index = _G})
    assert(load(code, "README walkthrough", "t", env))()
    local err = tonumber(printed[1]:match("([%d.e%-]+)$"))
    assert.is_true(err < 2e-2, printed[1])
    assert.equal("function", type(capsrun.routing["max-agreement"]))
  end)
end)
