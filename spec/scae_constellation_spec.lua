-- The constellation model (capsrun.scae.ConstellationAE): its gradients by
-- finite differences, its likelihood against the mixture computed here
-- point by point, and experiments/constellation.lua end to end (train,
-- measure segmentation, checkpoint, resume).
local capsrun = require "capsrun"
local H = require "spec.helpers"
local T = capsrun.native
local CAE = require "capsrun.scae.ConstellationAE"
local constellation = require "capsrun.scae.constellation"

local function small(gen) return CAE.new{gen = gen, dims = 8, layers = 1, heads = 2, hidden = 8, caps_params = 6} end

describe("ConstellationAE", function()
  it("passes the finite-difference gradient check of the points' gradient", function()
    -- float32 differences of a loss summed over sets resolve the points' gradient; the parameters'
    -- (many small, through attention) are checked against PyTorch in float64 below
    local g = T.generator(5)
    local m = small(g)
    m:evaluate()   -- no noise on the presence logits
    local b = constellation.batch(3, g)
    local r = capsrun.gradcheck.check(m, b.corners, {args = {b.presence}, gen = T.generator(9), samples = 20, h = 5e-3,
      check_params = false})
    assert.is_true(r.input < 1e-2, "worst relative error " .. r.input)
  end)

  it("computes the paper's mixture likelihood: votes, their presences and scales, a dummy component", function()
    local g = T.generator(6)
    local m = small(g)
    m:evaluate()
    local b = constellation.batch(4, g)
    m:forward(b.corners, b.presence)
    local v, total = m.result.votes, 0
    local KV = v.x:size(2)
    for e = 1, 4 do
      local norm = math.exp(-2 * math.log(10))
      for k = 1, KV do norm = norm + v.presence:get(e, k) end
      for i = 1, 11 do
        if b.presence:get(e, i) ~= 0 then
          local px, py = b.corners:get(e, i, 1), b.corners:get(e, i, 2)
          local p = math.exp(-2 * math.log(10)) * math.exp(-2 * math.log(10))   -- the dummy: logit and density
          for k = 1, KV do
            local s = v.scale:get(e, k)
            local dx, dy = (px - v.x:get(e, k)) / s, (py - v.y:get(e, k)) / s
            p = p + v.presence:get(e, k) * math.exp(-0.5 * (dx * dx + dy * dy)) / (2 * math.pi * s * s)
          end
          total = total + math.log(p / norm)
        end
      end
    end
    assert.near(total / 4, m.result.log_prob, 1e-3 * math.abs(total / 4))
    -- winners are capsule indices; the loss adds up its terms
    assert.is_true(m.result.winner:min() >= 0 and m.result.winner:max() <= 2)
  end)
end)

describe("ConstellationAE against PyTorch", function()
  local torch_ok = H.have_torch()
  local run = (torch_ok or os.getenv("CI") == "true") and it or pending
  run("equals PyTorch's version of the official model on identical weights: loss and gradients within 1e-4", function()
    assert.is_true(torch_ok, "python3-torch is required under CI")
    local g = T.generator(8)
    local m = small(g)
    m:evaluate()
    -- away from the initialisation, so that every term has a gradient of its own
    for _, e in ipairs(m:named_parameters()) do e.param:add_(T.zeros(e.param:size()):uniform_(g, -0.2, 0.2)) end
    local b = constellation.batch(5, g)
    m:zero_grad()
    local loss = m:forward(b.corners, b.presence)
    local gx = m:backward(b.corners, T.ones(1)):clone()
    local c = m.config
    local entries = {input = b.corners, presence = b.presence, config = ("layers=%d heads=%d capsules=%d votes=%d classes=%d "
      .. "sparsity_weight=%g dynamic_l2_weight=%g prior_within=%g prior_between=%g"):format(c.layers, c.heads, c.capsules,
      c.votes, c.classes, c.sparsity_weight, c.dynamic_l2_weight, c.prior_within, c.prior_between)}
    local ref = H.torch_reference("constellation_torch.py", entries, m)
    assert.equal(0, (m.result.winner - ref.winner):norm())
    assert.near(ref.log_prob:get(1), m.result.log_prob, 1e-4 * math.abs(ref.log_prob:get(1)))
    assert.near(ref.loss:get(1), loss:get(1), 1e-4 * math.abs(ref.loss:get(1)))
    assert.is_true(H.rel(gx, ref["grad.input"]) < 1e-4, "input gradient: " .. H.rel(gx, ref["grad.input"]))
    H.assert_grads_match(m, ref)
  end)
end)

describe("experiments/constellation.lua", function()
  it("trains, measures segmentation accuracy, and resumes from its checkpoint", function()
    local dir = H.tmpdir()
    local base = ("experiments/constellation.lua --dims 16 --layers 1 --heads 2 --steps-per-epoch 8 --batch 8 " ..
      "--eval-examples 40 --lr 1e-3 --save %s/c.tensors --checkpoint %s/ck"):format(dir, dir)
    local code, out = H.run(base .. " --epochs 1")
    assert.equal(0, code, out)
    assert.truthy(out:find("epoch 1  loss [%d.%-]+  train segmentation acc [%d.]+%%  test segmentation acc [%d.]+%%"), out)
    local code2, out2 = H.run(base .. " --epochs 2 --resume")
    assert.equal(0, code2, out2)
    assert.truthy(out2:find("resumed from .*: epoch 2"), out2)
    local t = capsrun.plot.read_csv(dir .. "/metrics.csv")
    assert.equal(2, #t.rows)
    local acc = t.rows[2].test_acc
    assert.is_true(acc > 0.3 and acc <= 1, tostring(acc))
    assert.truthy(T.load_tensors(dir .. "/c.tensors").config:find("kind=constellation", 1, true))
    -- the figure: 16 sets, captioned, in colour
    local fig = capsrun.read_png(dir .. "/constellations.png", 3)
    assert.equal(3, fig:size(1))
    assert.truthy(out2:find("segmentations of 16 evaluation sets in", 1, true), out2)
    H.rm_rf(dir)
  end)

  it("keeps the earlier epochs' metrics when a resumed run is killed in its first epoch", function()
    local dir = H.tmpdir()
    local base = ("experiments/constellation.lua --dims 8 --layers 1 --heads 1 --steps-per-epoch 400 --batch 4 "
      .. "--eval-examples 8 --threads 1 --save %s/c.tensors --checkpoint %s/ck"):format(dir, dir)
    local code, out = H.run(base .. " --epochs 1")
    assert.equal(0, code, out)
    local state = H.run_killed_mid_epoch(base .. " --resume --epochs 3 --checkpoint-every 1", dir .. "/ck",
      dir .. "/killed.log", 2)
    assert.truthy(state, "no mid-epoch checkpoint appeared: " .. H.read(dir .. "/killed.log"))
    local t = capsrun.plot.read_csv(dir .. "/metrics.csv")
    assert.equal(1, #t.rows, H.read(dir .. "/metrics.csv"))
    assert.equal(1, t.rows[1].epoch)
    H.rm_rf(dir)
  end)
end)
