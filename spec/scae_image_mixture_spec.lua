-- SCAE's image likelihood, the fused per-pixel mixture (image_mixture.c
-- through capsrun.autograd.image_mixture): equal to the same mixture
-- composed of tape ops (log-softmax, logsumexp: each checked by finite
-- differences in autograd_spec); finite differences of its own; PyTorch's
-- MixtureSameFamily (float64) within 1e-4, values and gradients; hostile
-- arguments; buffers reused from the second step.
local capsrun = require "capsrun"
local H = require "spec.helpers"
local T = capsrun.native
local ag = capsrun.autograd

local function data(seed, B, K, P)
  local g = T.generator(seed)
  return T.zeros(B, K, P):uniform_(g, 0, 1), T.zeros(B, K, P):uniform_(g, -3, 3), T.zeros(B, P):uniform_(g, 0, 1)
end

describe("image mixture", function()
  it("equals the mixture composed of tape ops, values and gradients", function()
    local B, K, P, sigma = 3, 5, 40, 0.6
    local mu, lg, y = data(1, B, K, P)
    local tape, t2 = ag.tape(), ag.tape()
    local m, l = tape:leaf(mu, nil, true), tape:leaf(lg, nil, true)
    local fused = ag.image_mixture(m, l, y, sigma)
    local m2, l2 = t2:leaf(mu, nil, true), t2:leaf(lg, nil, true)
    local d = (t2:constant(y:view(B, 1, P)) - m2) * (1 / sigma)
    local composed = (l2:log_softmax(2) + d * d * -0.5 - (0.5 * math.log(2 * math.pi) + math.log(sigma))):logsumexp(2):sum(2)
    assert.is_true(H.rel(fused.value, composed.value) < 1e-6)
    local R = T.zeros(B):uniform_(T.generator(2), -1, 1)
    tape:backward(fused, R)
    t2:backward(composed, R)
    assert.is_true(H.rel(ag.grad_of(m), ag.grad_of(m2)) < 1e-5)
    assert.is_true(H.rel(ag.grad_of(l), ag.grad_of(l2)) < 1e-5)
  end)

  it("passes the finite-difference check, and reuses its buffers", function()
    local mu, lg, y = data(3, 2, 3, 6)
    local R = T.new{0.7, -0.4}
    local tape = ag.tape()
    local function loss() tape:reset(); return ag.image_mixture(tape:leaf(mu), tape:leaf(lg), y, 0.5).value:dot(R) end
    tape:reset()
    local m, l = tape:leaf(mu, nil, true), tape:leaf(lg, nil, true)
    local out = ag.image_mixture(m, l, y, 0.5)
    local first = out.value
    tape:backward(out, R)
    local gm, gl = ag.grad_of(m):clone(), ag.grad_of(l):clone()
    for _, case in ipairs{{mu, gm}, {lg, gl}} do
      local flat, gflat = case[1]:view(-1), case[2]:view(-1)
      for k = 1, flat:numel() do
        local v0 = flat:get(k)
        flat:set(k, v0 + 1e-2); local lp = loss()
        flat:set(k, v0 - 1e-2); local lm = loss()
        flat:set(k, v0)
        local num = (lp - lm) / 2e-2
        assert.is_true(math.abs(num - gflat:get(k)) <= 2e-2 * math.max(1, math.abs(num)),
          ("element %d: %g against %g"):format(k, num, gflat:get(k)))
      end
    end
    tape:reset()
    assert.equal(first, ag.image_mixture(tape:leaf(mu), tape:leaf(lg), y, 0.5).value)   -- the same buffer
  end)

  local torch_ok = H.have_torch()
  local run = (torch_ok or os.getenv("CI") == "true") and it or pending
  run("equals PyTorch's MixtureSameFamily: values and gradients within 1e-4", function()
    assert.is_true(torch_ok, "python3-torch is required under CI")
    local mu, lg, y = data(4, 4, 17, 1600)   -- 16 templates and the background on a 40x40 canvas
    local tape = ag.tape()
    local m, l = tape:leaf(mu, nil, true), tape:leaf(lg, nil, true)
    local out = ag.image_mixture(m, l, y, 1)
    local gy = T.zeros(4):uniform_(T.generator(5), -1, 1)
    tape:backward(out, gy)
    local ref = H.torch_reference("image_mixture_torch.py", {mu = mu, logits = lg, y = y, sigma = T.new{1}, grad_output = gy})
    assert.is_true(H.rel(out.value, ref.logp) < 1e-4, "logp: " .. H.rel(out.value, ref.logp))
    assert.is_true(H.rel(ag.grad_of(m), ref["grad.mu"]) < 1e-4, "mu: " .. H.rel(ag.grad_of(m), ref["grad.mu"]))
    assert.is_true(H.rel(ag.grad_of(l), ref["grad.logits"]) < 1e-4, "logits: " .. H.rel(ag.grad_of(l), ref["grad.logits"]))
  end)

  it("refuses wrong shapes and scales with messages", function()
    local mu, lg, y = data(6, 2, 3, 4)
    assert.error_matches(function() T.tape_image_mixture(mu, T.zeros(2, 3, 5), y, 1) end, "one shape %(B, K, P%) expected")
    assert.error_matches(function() T.tape_image_mixture(mu, lg, T.zeros(2, 5), 1) end, "images %(2, 4%) expected")
    assert.error_matches(function() T.tape_image_mixture(mu, lg, y, 0) end, "positive standard deviation expected")
    assert.error_matches(function() T.tape_image_mixture(mu, lg, y, 0 / 0) end, "positive standard deviation expected")
  end)
end)
