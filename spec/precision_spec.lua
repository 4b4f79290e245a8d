-- The precision of the convolution GEMMs: f32 through OpenBLAS or oneDNN,
-- and bf16 (bf16 operands, float32 accumulation) through oneDNN, which runs
-- natively on AMX-BF16 / AVX512-BF16 and emulated on plain AVX-512, so this
-- spec exercises it on every CI machine with AVX-512.
local capsrun = require "capsrun"
local T = capsrun.native
local H = require "spec.helpers"

local rel = H.rel

local have_dnnl = select(3, T.precision())
local has_avx512 = T.blas_info().isa:find("AVX-512", 1, true) ~= nil
local bf16_ok = have_dnnl and has_avx512

-- conv forward and backward under one precision: output, input, weight and bias gradients
local function conv_pass(precision, conv, x)
  T.set_precision(precision)
  conv:zero_grad()
  local y = conv:forward(x):clone()
  local gy = y:clone():fill_(0):add_(y):mul_(0.5)
  local gx = conv:backward(x, gy)
  local out = {y, gx and gx:clone(), conv.grad_weight:clone(), conv.grad_bias:clone()}
  T.set_precision("f32")
  return out
end

describe("precision", function()
  after_each(function() T.set_precision("f32") end)

  it("rounds float32 to bf16 to nearest, ties to even (never truncates)", function()
    local x = 2 ^ -8   -- half a unit in the last place of bf16 at 1 (8 significant bits)
    local cases = {
      {1 + x, 1},                          -- a tie: to the even neighbour, 1
      {1 + x + x / 2, 1 + 2 * x},          -- above the tie: up (truncation would give 1)
      {1 + 3 * x, 1 + 4 * x},              -- a tie above an odd neighbour: up, to the even one
      {1 + x / 2, 1},                      -- below the tie: down
      {-(1 + x + x / 2), -(1 + 2 * x)},    -- the same for negative values
      {3.0, 3.0}, {0, 0}, {2 ^ 100 * (1 + x + x / 2), 2 ^ 100 * (1 + 2 * x)},
    }
    local t = T.zeros(#cases)
    for i, c in ipairs(cases) do t:set(i, c[1]) end
    local r = T.bf16_round(t)
    for i, c in ipairs(cases) do assert.equal(c[2], r:get(i), ("case %d: %.10g"):format(i, c[1])) end
    local nan = T.bf16_round(T.new{0 / 0}):get(1)
    assert.is_true(nan ~= nan, "NaN stays NaN")
    assert.equal(math.huge, T.bf16_round(T.new{math.huge}):get(1))
  end)

  it("is f32 by default and resolves auto from the CPU", function()
    assert.equal("f32", (T.precision()))
    local p = T.set_precision("auto")
    local native = T.blas_info().native_bf16
    assert.equal((native and have_dnnl) and "bf16" or "f32", p)
    assert.equal(p, (T.precision()))
    assert.error_matches(function() T.set_precision("fp8") end, "invalid option 'fp8'")
  end)

  it("gives the same convolution in f32 through oneDNN and through OpenBLAS", function()
    local g = T.generator(1)
    local conv = capsrun.Conv2d.new(6, 10, 5, 2, 0, g)
    local x = T.zeros(3, 6, 17, 17):uniform_(g, -1, 1)
    local a, b = conv_pass("f32-blas", conv, x), conv_pass("f32", conv, x)
    for i = 1, 4 do assert.is_true(rel(b[i], a[i]) < 1e-5, ("part %d: %g"):format(i, rel(b[i], a[i]))) end
  end)

  it("runs bf16 convolutions close to f32, for small and large images, stride 1 and 2", function()
    if not bf16_ok then
      assert.error_matches(function() T.set_precision("bf16") end, "bf16 needs")
      return
    end
    local g = T.generator(2)
    -- 70x70 -> 68x68 = 4624 outputs per image: the line-at-a-time im2col path
    for _, case in ipairs{{4, 8, 9, 2, 20}, {2, 3, 3, 1, 70}} do
      local cin, cout, k, stride, size = table.unpack(case)
      local conv = capsrun.Conv2d.new(cin, cout, k, stride, 0, g)
      local x = T.zeros(3, cin, size, size):uniform_(g, 0, 1)
      local a, b = conv_pass("f32", conv, x), conv_pass("bf16", conv, x)
      for i = 1, 4 do
        local r = rel(b[i], a[i])
        -- bf16 keeps 8 bits of mantissa: about 0.4% per value, less on sums
        assert.is_true(r < 1.5e-2 and r > 0, ("k %d part %d: relative difference %g"):format(k, i, r))
      end
    end
  end)

  it("bounds bf16's difference from f32 on one full CapsNet training step", function()
    if not bf16_ok then return assert.error_matches(function() T.set_precision("bf16") end, "bf16 needs") end
    local function step(precision)
      T.set_precision(precision)
      local gen = capsrun.manual_seed(11)
      local m = capsrun.CapsNet.new{input = {1, 28, 28}, conv_channels = 32, primary_types = 8, gen = gen}
      local clf = capsrun.train.classifier(m)
      local p, g = m:parameters()
      local opt = capsrun.optim.Adam.new(p, g, {lr = 1e-3})
      local set_images, labels = H.synthetic_digits(16, 5)
      local x, y = T.zeros(16, 1, 28, 28), T.zeros(16)
      for i = 1, 16 * 784 do x:view(-1):set(i, set_images:byte(i) / 255) end
      for i = 1, 16 do y:set(i, labels:byte(i)) end
      local loss = capsrun.train.step(clf, opt, x, y)
      local grads, params = {}, {}
      for i = 1, #g do grads[i] = g[i]:clone(); params[i] = p[i]:clone() end
      T.set_precision("f32")
      return loss, grads, params
    end
    local l32, g32, p32 = step("f32")
    local l16, g16, p16 = step("bf16")
    assert.is_true(math.abs(l16 - l32) < 2e-3 * math.abs(l32), ("loss %g vs %g"):format(l16, l32))
    for i = 1, #g32 do
      local r = rel(g16[i], g32[i])
      assert.is_true(r < 5e-2, ("gradient %d: relative difference %g"):format(i, r))
      -- Adam's first step moves each weight by about lr: the parameters stay within a few lr
      assert.is_true((p16[i] - p32[i]):norm() / math.sqrt(p32[i]:numel()) < 1e-3, "parameters " .. i)
    end
  end)

  it("runs a one-step classify.lua smoke in each precision the machine has", function()
    local dir = H.tmpdir()
    local list = {"f32", "f32-blas"}
    if bf16_ok then list[#list + 1] = "bf16" end
    for _, p in ipairs(list) do
      local code, out = H.run(("experiments/classify.lua --data %s --limit 32 --epochs 1 --batch 32 " ..
        "--routing-iters 1 --precision %s --save %s/%s/m.tensors"):format(H.mnist(), p, dir, p))
      assert.equal(0, code, out)
      assert.truthy(out:find("convolution GEMMs in " .. p, 1, true), out)
      assert.truthy(out:find("epoch 1", 1, true), out)
    end
    H.rm_rf(dir)
  end)
end)
