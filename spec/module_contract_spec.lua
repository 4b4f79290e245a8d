-- One contract for every module class: finite-difference gradients, the
-- parameter lists derived from the children, tostring, zero_grad, and the
-- training flag reaching every child. A new layer adds one line to CASES.
local capsrun = require "capsrun"
local T = capsrun.native
local gradcheck = capsrun.gradcheck

local function gen() return T.generator(99) end

-- a matrix-capsule grid (b, t, h, w, 17): poses in [-1, 1], activations in [0.2, 0.9]
local function caps_grid(b, t, h, w)
  return function(g)
    local pose, act = T.zeros(b, 16 * t, h, w):uniform_(g, -1, 1), T.zeros(b, t, h, w):uniform_(g, 0.2, 0.9)
    return T.matcaps_pack(pose, act, {}):clone()
  end
end

-- an EM layer with betas away from 0, so that every parameter matters
local function em_layer(m)
  m.beta_a:uniform_(gen(), -0.5, 0.5); m.beta_v:uniform_(gen(), -0.5, 0.5)
  return m
end

-- name, constructor, input maker, extra forward args, tolerance, finite-difference step
local CASES = {
  {"Conv2d", function() return capsrun.Conv2d.new(2, 3, 3, 2, 0, gen()) end,
    function(g) return T.zeros(2, 2, 7, 7):uniform_(g, -1, 1) end},
  {"Conv2d (padded)", function() return capsrun.Conv2d.new(2, 3, 3, 1, 1, gen()) end,
    function(g) return T.zeros(2, 2, 5, 5):uniform_(g, -1, 1) end},
  {"MaxPool2d", function() return capsrun.MaxPool2d.new(2, 2) end,
    function(g) return T.zeros(2, 3, 6, 6):uniform_(g, -1, 1) end},
  {"Dropout", function()
      local d = capsrun.Dropout.new(0.3)
      local forward = d.forward
      d.forward = function(self, x) self.gen = T.generator(7); return forward(self, x) end   -- one mask throughout
      return d
    end, function(g) return T.zeros(4, 6):uniform_(g, -1, 1) end},
  {"Flatten", function() return capsrun.Flatten.new() end,
    function(g) return T.zeros(2, 3, 2, 2):uniform_(g, -1, 1) end},
  {"Linear", function() return capsrun.Linear.new(5, 4, gen()) end,
    function(g) return T.zeros(3, 5):uniform_(g, -1, 1) end},
  {"ReLU", function() return capsrun.ReLU.new() end,
    function(g) return T.zeros(4, 6):uniform_(g, 0.1, 1) * (T.zeros(4, 6):uniform_(g) - 0.5) * 4 end},
  {"Sigmoid", function() return capsrun.Sigmoid.new() end,
    function(g) return T.zeros(4, 6):uniform_(g, -2, 2) end},
  {"Squash", function() return capsrun.Squash.new() end,
    function(g) return T.zeros(3, 5, 4):uniform_(g, -1, 1) end},
  {"Length", function() return capsrun.Length.new() end,
    function(g) return T.zeros(3, 5, 4):uniform_(g, -1, 1) end},
  {"PrimaryCaps", function() return capsrun.PrimaryCaps.new(3, 2, 4, 3, 2, gen()) end,
    function(g) return T.zeros(2, 3, 9, 9):uniform_(g, -1, 1) end},
  {"DigitCaps", function()
      local d = capsrun.DigitCaps.new(6, 4, 3, 5, 3, gen())
      d.weight:normal_(gen(), 0, 0.5)
      return d
    end, function(g) return T.zeros(2, 6, 4):uniform_(g, -1, 1) end},
  {"PrimaryMatCaps", function() return capsrun.PrimaryMatCaps.new(3, 2, gen()) end,
    function(g) return T.zeros(2, 3, 4, 4):uniform_(g, -1, 1) end},
  {"ConvCaps (1 EM iteration, children in several patches)", function()
      return em_layer(capsrun.ConvCaps.new(2, 3, 3, 1, 1, gen())) end, caps_grid(2, 2, 4, 4)},
  {"ConvCaps (2 EM iterations)", function() return em_layer(capsrun.ConvCaps.new(2, 3, 3, 1, 2, gen())) end,
    caps_grid(2, 2, 4, 4)},
  {"ConvCaps (3 EM iterations)", function() return em_layer(capsrun.ConvCaps.new(2, 3, 3, 1, 3, gen())) end,
    caps_grid(2, 2, 4, 4)},
  {"ConvCaps (3 EM iterations, E-step temperature 0.25)", function()
      local m = em_layer(capsrun.ConvCaps.new(2, 3, 3, 1, 3, gen()))
      m.e_temperature = 0.25
      return m
    end, caps_grid(2, 2, 4, 4)},
  {"ConvCaps (stride 2)", function() return em_layer(capsrun.ConvCaps.new(2, 2, 3, 2, 3, gen())) end,
    caps_grid(2, 2, 5, 5)},
  {"ConvCaps (one child per parent)", function() return em_layer(capsrun.ConvCaps.new(1, 2, 1, 1, 3, gen())) end,
    caps_grid(2, 1, 3, 3)},
  {"ClassCaps", function() return em_layer(capsrun.ClassCaps.new(2, 3, 3, gen())) end, caps_grid(2, 2, 3, 3)},
  {"MatActivations", function() return capsrun.MatActivations.new() end, caps_grid(2, 3, 2, 2)},
  {"MatrixCapsNet", function()
      local m = capsrun.MatrixCapsNet.new{input = {1, 20, 20}, A = 4, B = 2, C = 3, D = 2, classes = 3, gen = gen()}
      m.conv1.bias:fill_(0.5)   -- ReLUs away from their kink
      -- activations away from 0 and 1, where float32 differences cannot see the gradients;
      -- bench/matcaps_torch.py checks every gradient of the model to 1e-4 (matcaps_spec.lua)
      for _, l in ipairs{m.convcaps1, m.convcaps2, m.classcaps} do l.beta_v:fill_(2) end
      return m
    end, function(g) return T.zeros(2, 1, 20, 20):uniform_(g, 0, 1) end, nil, 8e-2, 3e-3},
  {"RoutedCaps (dynamic routing in Lua)", function()
      local m = capsrun.RoutedCaps.new(6, 4, 3, 5, 3, gen(), "dynamic-lua")
      m.weight:normal_(gen(), 0, 0.5)
      return m
    end, function(g) return T.zeros(2, 6, 4):uniform_(g, -1, 1) end},
  {"RoutedCaps (self-attention routing)", function()
      local m = capsrun.RoutedCaps.new(6, 4, 3, 5, 1, gen(), "self-attention")
      m.weight:normal_(gen(), 0, 0.5); m.bias:uniform_(gen(), -0.2, 0.2)
      return m
    end, function(g) return T.zeros(2, 6, 4):uniform_(g, -1, 1) end},
  {"RoutedCaps (inverted dot-product routing)", function()
      local m = capsrun.RoutedCaps.new(6, 4, 3, 5, 3, gen(), "inverted-dot")
      m.weight:normal_(gen(), 0, 0.5)
      return m
    end, function(g) return T.zeros(2, 6, 4):uniform_(g, -1, 1) end},
  {"BatchNorm", function()
      local m = capsrun.BatchNorm.new(3)
      m.weight:uniform_(gen(), 0.5, 1.5); m.bias:uniform_(gen(), -0.5, 0.5)
      return m
    end, function(g) return T.zeros(4, 3, 2, 5):uniform_(g, -1, 1) end, nil, 2e-2, 1e-2},
  {"DepthwiseCaps", function() return capsrun.EfficientCapsNet.DepthwiseCaps.new(8, 3, 2, 4, gen()) end,
    function(g) return T.zeros(2, 8, 3, 3):uniform_(g, -1, 1) end},
  {"EfficientCapsNet", function()
      local m = capsrun.EfficientCapsNet.new{input = {1, 20, 20}, classes = 3, gen = gen()}
      m.modules[1].bias:fill_(0.3)   -- ReLUs away from their kink
      return m
    end, function(g) return T.zeros(3, 1, 20, 20):uniform_(g, 0, 1) end, nil, 0.15, 1e-3},   -- batch-normalised
    -- ReLU inputs sit around 0, where differences cross kinks; spec/efficient_torch_spec.lua checks
    -- every gradient of the model against PyTorch to 1e-4
  {"PoseLogits", function() return capsrun.PoseLogits.new(5, gen()) end,
    function(g) return T.zeros(3, 4, 5):uniform_(g, -1, 1) end},
  {"Sequential", function()
      return capsrun.Sequential.new{capsrun.Linear.new(4, 6, gen()), capsrun.Sigmoid.new(), capsrun.Linear.new(6, 2, gen())}
    end, function(g) return T.zeros(3, 4):uniform_(g, -1, 1) end},
  {"Decoder", function() return capsrun.Decoder.new(3, 4, 10, {8}, gen()) end,
    function(g) return T.zeros(2, 3, 4):uniform_(g, -1, 1) end, {T.new{2, 0}}},
  {"CNNBaseline", function()
      local m = capsrun.CNNBaseline.new{input = {1, 6, 6}, classes = 3, channels = {3, 4}, hidden = {5}, dropout = 0,
        gen = gen()}
      for _, e in ipairs(m:named_parameters()) do   -- ReLUs away from their kink
        if e.name:find("bias") then e.param:fill_(0.5) end
      end
      return m
    end, function(g) return T.zeros(2, 1, 6, 6):uniform_(g, 0, 1) end, nil, 3e-2, 1e-3},
  {"CNNBaseline (max pooling)", function()
      local m = capsrun.CNNBaseline.new{input = {1, 8, 8}, classes = 3, channels = {3, 4}, hidden = {5}, dropout = 0,
        pool = {2, 2}, gen = gen()}
      for _, e in ipairs(m:named_parameters()) do
        if e.name:find("bias") then e.param:fill_(0.5) end
      end
      return m
    end, function(g) return T.zeros(2, 1, 8, 8):uniform_(g, 0, 1) end, nil, 3e-2, 1e-3},
  {"CapsNet (RGB 32x32)", function()
      local m = capsrun.CapsNet.new{input = {3, 32, 32}, conv_channels = 4, conv_kernel = 9,
        primary_types = 2, primary_dim = 4, primary_kernel = 9, primary_stride = 4, classes = 3, digit_dim = 4,
        gen = gen()}
      m.digitcaps.weight:normal_(gen(), 0, 0.3)
      m.conv1.bias:fill_(0.5)
      return m
    end, function(g) return T.zeros(2, 3, 32, 32):uniform_(g, 0, 1) end, nil, 2e-2, 1e-3},   -- float32 sums of 243-term windows
  {"CapsNet", function()
      local m = capsrun.CapsNet.new{input = {1, 12, 12}, conv_channels = 4, conv_kernel = 3,
        primary_types = 2, primary_dim = 4, primary_kernel = 3, classes = 3, digit_dim = 4, gen = gen()}
      m.digitcaps.weight:normal_(gen(), 0, 0.3)
      m.conv1.bias:fill_(0.5)   -- ReLUs away from their kink, where differences are not derivatives
      return m
    end, function(g) return T.zeros(2, 1, 12, 12):uniform_(g, 0, 1) end, nil, 1e-2, 1e-3},
}

describe("every module class", function()
  for _, case in ipairs(CASES) do
    local name, make, input, args, tol, h = case[1], case[2], case[3], case[4], case[5] or 2e-2, case[6] or 1e-2

    it(name .. " passes the gradient check", function()
      local m = make()
      local r = gradcheck.check(m, input(T.generator(5)), {args = args, h = h, samples = 25})
      assert.is_true(gradcheck.max_error(r) < tol, ("%s: worst relative error %g"):format(name, gradcheck.max_error(r)))
    end)

    it(name .. " keeps the module contract", function()
      local m = make()
      local params, grads = m:parameters()
      local named = m:named_parameters()
      assert.equal(#params, #grads)
      assert.equal(#params, #named)
      assert.same(grads, m:grad_parameters())
      local seen, count = {}, 0
      for i, e in ipairs(named) do
        assert.equal(params[i], e.param)
        assert.equal(grads[i], e.grad)
        assert.same(e.param:size(), e.grad:size())
        assert.is_nil(seen[e.name], "duplicate name " .. e.name)
        seen[e.name] = true
        count = count + e.param:numel()
      end
      assert.equal(count, m:num_parameters())
      local text = tostring(m)
      local expect = (name:match("^CapsNet") or name:match("^CNNBaseline") or name == "MatrixCapsNet" or
        name == "EfficientCapsNet") and "Sequential" or name:match("^%S+")
      assert.truthy(text:find(expect, 1, true), text)
      -- backward fills the gradients; zero_grad clears every one of them
      local x = input(T.generator(6))
      local out = m:forward(x, table.unpack(args or {}))
      m:backward(x, out:clone():fill_(1))
      if #grads > 0 then
        local total = 0
        for _, g in ipairs(grads) do total = total + g:norm() end
        assert.is_true(total > 0, "backward left every gradient at zero")
      end
      m:zero_grad()
      for _, g in ipairs(grads) do assert.equal(0, g:norm()) end
      -- the training flag reaches every child
      local function all(mod, flag)
        if mod.training ~= flag then return false end
        for _, c in ipairs(mod.children) do if not all(c.module, flag) then return false end end
        return true
      end
      assert.is_true(all(m:evaluate(), false))
      assert.is_true(all(m:train(), true))
    end)
  end

  it("criterions: MarginLoss, SSELoss, CrossEntropyLoss and SigmoidBCELoss gradients match finite differences", function()
    local g = T.generator(3)
    for _, c in ipairs{
      {capsrun.MarginLoss.new(), T.zeros(4, 3):uniform_(g, 0, 1), T.new{0, 2, 1, 1}},
      {capsrun.SSELoss.new(), T.zeros(3, 5):uniform_(g, 0, 1), T.zeros(3, 5):uniform_(g, 0, 1)},
      {capsrun.CrossEntropyLoss.new(), T.zeros(3, 4):uniform_(g, -2, 2), T.new{3, 0, 1}},
      {capsrun.SigmoidBCELoss.new(), T.zeros(3, 4):uniform_(g, -2, 2), T.new{{3, 0}, {1, 2}, {0, 1}}},
    } do
      local crit, x, y = c[1], c[2], c[3]
      crit:forward(x, y)
      local grad = crit:backward(x, y):clone()
      local flat, h = x:view(-1), 1e-2
      for i = 1, flat:numel() do
        local v = flat:get(i)
        flat:set(i, v + h); local lp = crit:forward(x, y)
        flat:set(i, v - h); local lm = crit:forward(x, y)
        flat:set(i, v)
        assert.near((lp - lm) / (2 * h), grad:view(-1):get(i), 2e-3)
      end
      assert.truthy(tostring(crit):find(crit.__name, 1, true))
    end
  end)
end)
