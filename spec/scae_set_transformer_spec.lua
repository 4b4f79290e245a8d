-- The object capsule autoencoder's encoder (capsrun.scae.SetTransformer):
-- finite-difference gradients of every parameter and the input, with and
-- without inducing points and absent points; invariant to the points'
-- order; blind to absent points; PyTorch's version of the official code
-- (bench/set_transformer_torch.py, float64) on identical weights gives the
-- same outputs and gradients within 1e-4.
local capsrun = require "capsrun"
local H = require "spec.helpers"
local T = capsrun.native
local ST = require "capsrun.scae.SetTransformer"
local gradcheck = capsrun.gradcheck

local function points(g, B, N) return T.zeros(B, N, 2):uniform_(g, -1, 1) end

describe("SetTransformer", function()
  it("passes the finite-difference gradient check, with and without inducing points and absent points", function()
    for _, inducing in ipairs(H.asan and {3} or {0, 3}) do   -- under ASan (5x slower) the induced blocks only
      local g = T.generator(10 + inducing)
      local st = ST.new{input = 2, dims = 6, out_dims = 4, outputs = 2, layers = 2, heads = 2, inducing = inducing, gen = g}
      local x = points(g, 2, 5)
      local presence = T.new{{1, 1, 0, 1, 1}, {1, 1, 1, 1, 1}}
      for _, pres in ipairs{false, true} do
        local r = gradcheck.check(st, x, {gen = T.generator(7), args = pres and {presence} or {}, h = 1e-2, samples = 6})
        local worst = gradcheck.max_error(r)
        -- float32 central differences through 2 blocks of attention and layer norm: a few percent at worst
        -- (the PyTorch comparison below checks every gradient to 1e-4)
        assert.is_true(worst < 6e-2, ("inducing %d, presence %s: worst relative error %g"):format(inducing, tostring(pres), worst))
      end
    end
  end)

  it("gives the same output whatever the order of the points, and ignores absent points", function()
    local g = T.generator(3)
    local st = ST.new{input = 2, dims = 8, out_dims = 5, outputs = 3, layers = 2, heads = 2, gen = g}
    local x = points(g, 2, 6)
    local y = st:forward(x):clone()
    local order = T.new{5, 2, 0, 4, 1, 3}
    local shuffled = T.zeros(2, 6, 2)
    for b = 1, 2 do for i = 1, 6 do for d = 1, 2 do
      shuffled:set(b, i, d, x:get(b, math.tointeger(order:get(i)) + 1, d))
    end end end
    assert.is_true(H.rel(st:forward(shuffled), y) < 1e-5)
    -- two more points, absent, with any values: the same output as without them
    local more, pres = T.zeros(2, 8, 2):uniform_(g, -50, 50), T.zeros(2, 8)
    for b = 1, 2 do for i = 1, 6 do
      pres:set(b, i, 1)
      for d = 1, 2 do more:set(b, i, d, x:get(b, i, d)) end
    end end
    assert.is_true(H.rel(st:forward(more, pres), y) < 1e-5)
  end)

  it("refuses bad options and inputs with messages", function()
    assert.error_matches(function() ST.new{heads = 0} end, "heads must be a positive integer")
    local st = ST.new{input = 2, dims = 4, out_dims = 4, outputs = 1, layers = 1, heads = 1}
    assert.error_matches(function() st:forward(T.zeros(2, 3, 2), T.ones(3, 2)) end, "presence %(2, 3%) expected")
    assert.has_error(function() st:forward(T.zeros(2, 3, 5)) end)
  end)

  local torch_ok = H.have_torch()
  local run = (torch_ok or os.getenv("CI") == "true") and it or pending
  run("equals PyTorch's version of the official code on identical weights: outputs and gradients within 1e-4", function()
    assert.is_true(torch_ok, "python3-torch is required under CI")
    for _, inducing in ipairs{0, 2} do
      local g = T.generator(20 + inducing)
      local st = ST.new{input = 2, dims = 8, out_dims = 6, outputs = 3, layers = 2, heads = 2, inducing = inducing, gen = g}
      local x = points(g, 3, 5)
      local presence = T.new{{1, 1, 0, 1, 1}, {1, 1, 1, 1, 1}, {0, 1, 1, 1, 0}}
      local y = st:forward(x, presence)
      local gy = T.zeros(y:size()):uniform_(g, -1, 1)
      st:zero_grad()
      local gx = st:backward(x, gy):clone()
      local entries = {input = x, presence = presence, grad_output = gy,
        config = ("layers=%d\nheads=%d\ninducing=%d\n"):format(2, 2, inducing)}
      local ref = H.torch_reference("set_transformer_torch.py", entries, st)
      assert.is_true(H.rel(y, ref.output) < 1e-4, "output: " .. H.rel(y, ref.output))
      assert.is_true(H.rel(gx, ref["grad.input"]) < 1e-4, "input gradient: " .. H.rel(gx, ref["grad.input"]))
      H.assert_grads_match(st, ref)
    end
  end)
end)
