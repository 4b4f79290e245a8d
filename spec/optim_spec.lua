local capsrun = require "capsrun"
local T = capsrun.native

describe("Adam", function()
  it("takes a first step of lr * sign(grad) and matches a hand-computed second", function()
    local p, g = T.new{1, -1}, T.new{0.5, -2}
    local opt = capsrun.optim.Adam.new({p}, {g}, {lr = 0.1})
    opt:step()
    -- first step: m_hat = g, v_hat = g^2, so p -= lr * g / (|g| + eps)
    assert.near(0.9, p:get(1), 1e-6)
    assert.near(-0.9, p:get(2), 1e-6)
    g:copy_(T.new{1, 1})
    opt:step()
    -- m = 0.9*0.1*0.5 ... by hand for the first coordinate:
    local m = 0.9 * (0.1 * 0.5) + 0.1 * 1
    local v = 0.999 * (0.001 * 0.25) + 0.001 * 1
    local mh, vh = m / (1 - 0.81), v / (1 - 0.999 ^ 2)
    assert.near(0.9 - 0.1 * mh / (math.sqrt(vh) + 1e-8), p:get(1), 1e-6)
  end)

  it("decays the learning rate exponentially", function()
    local opt = capsrun.optim.Adam.new({T.zeros(1)}, {T.zeros(1)}, {lr = 1, decay_rate = 0.5, decay_steps = 2})
    assert.equal(1, opt:current_lr())
    opt:step(); opt:step()
    assert.near(0.5, opt:current_lr(), 1e-12)
  end)

  it("minimises a quadratic", function()
    local p = T.new{3, -2}
    local g = T.zeros(2)
    local opt = capsrun.optim.Adam.new({p}, {g}, {lr = 0.05})
    for _ = 1, 500 do g:copy_(p * 2); opt:step() end
    assert.is_true(p:norm() < 0.05)
  end)

  it("rejects mismatched lists and bad hyper-parameters", function()
    assert.error_matches(function() capsrun.optim.Adam.new({T.zeros(1)}, {}) end, "as many gradients")
    local opt = capsrun.optim.Adam.new({T.zeros(2)}, {T.zeros(3)})
    assert.error_matches(function() opt:step() end, "shape %(2%) expected, got %(3%)")
    local bad = capsrun.optim.Adam.new({T.zeros(1)}, {T.zeros(1)}, {beta1 = 1})
    assert.error_matches(function() bad:step() end, "betas in %[0, 1%)")
  end)
end)
