local capsrun = require "capsrun"
local T = capsrun.native

local TOL = 2e-3

local function gradcheck(m, x)
  return capsrun.gradcheck.max_error(capsrun.gradcheck.check(m, x, {gen = T.generator(6)}))
end

describe("Squash", function()
  local g = T.generator(21)

  it("scales |s|^2/(1+|s|^2) along the last dimension", function()
    local v = capsrun.Squash.new():forward(T.new{{3, 4}})
    -- |s| = 5: factor 25/26 on the unit vector (0.6, 0.8)
    assert.near(25 / 26 * 0.6, v:get(1, 1), 1e-6)
    assert.near(25 / 26 * 0.8, v:get(1, 2), 1e-6)
  end)

  it("gives outputs of norm below 1, even for huge inputs", function()
    local v = capsrun.Squash.new():forward(T.zeros(50, 8):normal_(g, 0, 100))
    local len = capsrun.Length.new():forward(v)
    assert.is_true(len:max() < 1)
  end)

  it("is finite with a finite gradient at zero input", function()
    local sq = capsrun.Squash.new()
    local z = T.zeros(2, 8)
    local v = sq:forward(z)
    assert.equal(0, v:norm())
    local gs = sq:backward(z, T.ones(2, 8))
    local n = gs:norm()
    assert.is_true(n == n and n < math.huge)
  end)

  it("passes a finite-difference gradient check", function()
    assert.is_true(gradcheck(capsrun.Squash.new(), T.zeros(3, 4, 5):uniform_(g, -1, 1)) < TOL)
  end)
end)

describe("Length", function()
  it("computes capsule norms and their gradient", function()
    local v = T.new{{{3, 4}, {0, 1}}}
    assert.near(5, capsrun.Length.new():forward(v):get(1, 1), 1e-6)
    local g = T.generator(22)
    assert.is_true(gradcheck(capsrun.Length.new(), T.zeros(3, 4, 5):uniform_(g, -1, 1)) < TOL)
  end)
end)

describe("PrimaryCaps", function()
  local g = T.generator(23)

  it("turns (b, 256, 20, 20) into (b, 1152, 8) squashed capsules", function()
    local pc = capsrun.PrimaryCaps.new(256, 32, 8, 9, 2, g)
    local out = pc:forward(T.zeros(1, 256, 20, 20):uniform_(g))
    assert.same({1, 1152, 8}, out:size())
    assert.is_true(capsrun.Length.new():forward(out):max() < 1)
  end)

  it("groups channel t*dim+k of pixel p into capsule t*HW+p, dimension k", function()
    local pc = capsrun.PrimaryCaps.new(1, 2, 3, 1, 1, g)
    pc.conv.weight:copy_(T.new{1, 2, 3, 4, 5, 6}); pc.conv.bias:fill_(0)
    local x = T.new{{{{1, 10}}}}                   -- (1, 1, 1, 2): two pixels
    pc:forward(x)
    -- capsule 2 is type 0, pixel 1 (value 10): channels 0..2 -> 10, 20, 30
    assert.same({10, 20, 30}, {pc.capsules:get(1, 2, 1), pc.capsules:get(1, 2, 2), pc.capsules:get(1, 2, 3)})
    -- capsule 3 is type 1, pixel 0 (value 1): channels 3..5 -> 4, 5, 6
    assert.same({4, 5, 6}, {pc.capsules:get(1, 3, 1), pc.capsules:get(1, 3, 2), pc.capsules:get(1, 3, 3)})
  end)

  it("passes a finite-difference gradient check", function()
    local pc = capsrun.PrimaryCaps.new(3, 2, 4, 3, 2, g)
    assert.is_true(gradcheck(pc, T.zeros(2, 3, 7, 7):uniform_(g, -1, 1)) < TOL)
  end)
end)

describe("DigitCaps and dynamic routing", function()
  local g = T.generator(24)

  local function layer(iters)
    local dc = capsrun.DigitCaps.new(6, 4, 3, 5, iters, g)
    dc.weight:normal_(g, 0, 0.5)   -- large enough for routing to matter
    return dc
  end

  it("maps (b, I, in_dim) to (b, J, out_dim)", function()
    assert.same({2, 3, 5}, layer(3):forward(T.zeros(2, 6, 4):uniform_(g)):size())
  end)

  it("has coupling coefficients that sum to 1 over the parents", function()
    local dc = layer(3)
    dc:forward(T.zeros(2, 6, 4):uniform_(g, -1, 1))
    local c = dc:coupling()                      -- (b, iters, I, J)
    assert.same({2, 3, 6, 3}, c:size())
    for b = 1, 2 do for r = 1, 3 do for i = 1, 6 do
      local s = c:get(b, r, i, 1) + c:get(b, r, i, 2) + c:get(b, r, i, 3)
      assert.near(1, s, 1e-6)
    end end end
    -- the first iteration is uniform; later ones move every child's coupling
    for b = 1, 2 do for i = 1, 6 do
      for j = 1, 3 do assert.near(1 / 3, c:get(b, 1, i, j), 1e-7) end
      local moved = 0
      for j = 1, 3 do moved = math.max(moved, math.abs(c:get(b, 3, i, j) - 1 / 3)) end
      assert.is_true(moved > 1e-4, ("sample %d child %d kept uniform coupling"):format(b, i))
    end end
  end)

  it("has uniform coupling with one iteration", function()
    local dc = layer(1)
    dc:forward(T.zeros(2, 6, 4):uniform_(g, -1, 1))
    local c = dc:coupling()
    assert.near(1 / 3, c:max(), 1e-7)
    assert.near(1 / 3, c:min(), 1e-7)
  end)

  it("changes its output when scripts change routing_iters", function()
    local dc = layer(1)
    local x = T.zeros(2, 6, 4):uniform_(g, -1, 1)
    local one = dc:forward(x):clone()
    dc.routing_iters = 3
    local three = dc:forward(x):clone()
    assert.is_true((one - three):norm() > 1e-4)
    dc.routing_iters = 0
    assert.error_matches(function() dc:forward(x) end, "routing_iters must be a positive integer")
  end)

  it("passes finite-difference checks through 1, 2 and 3 iterations", function()
    for iters = 1, 3 do
      assert.is_true(gradcheck(layer(iters), T.zeros(2, 6, 4):uniform_(g, -1, 1)) < TOL)
    end
  end)

  it("rejects inputs that do not match its weights", function()
    local dc = layer(3)
    assert.error_matches(function() dc:forward(T.zeros(2, 5, 4)) end,
      "caps_predict_forward.*shape %(%*, 6, 4%) expected, got %(2, 5, 4%)")
  end)
end)

describe("MarginLoss", function()
  it("matches hand-computed values and gradients", function()
    local crit = capsrun.MarginLoss.new()
    -- sample 1, label 0: lengths 0.5 (target), 0.3, 0.05
    --   (0.9-0.5)^2 + 0.5*(0.3-0.1)^2 + 0 = 0.16 + 0.02 = 0.18
    -- sample 2, label 2: lengths 0.95, 0.1, 0.95 -> 0 + 0.5*0.85^2 + 0 + 0 = 0.36125
    local len, labels = T.new{{0.5, 0.3, 0.05}, {0.95, 0.1, 0.95}}, T.new{0, 2}
    local loss = crit:forward(len, labels)
    assert.near((0.18 + 0.36125) / 2, loss, 1e-6)
    local gr = crit:backward(len, labels)
    assert.near(-2 * 0.4 / 2, gr:get(1, 1), 1e-6)
    assert.near(2 * 0.5 * 0.2 / 2, gr:get(1, 2), 1e-6)
    assert.equal(0, gr:get(1, 3))
    assert.near(2 * 0.5 * 0.85 / 2, gr:get(2, 1), 1e-6)
    assert.equal(0, gr:get(2, 3))
  end)

  it("computes backward for the pair it is given, whatever forward saw last", function()
    local crit = capsrun.MarginLoss.new()
    local a, b = T.new{{0.5, 0.3}}, T.new{{0.2, 0.7}}
    crit:forward(a, T.new{0})
    local gb = crit:backward(b, T.new{1}):clone()     -- not what forward saw
    crit:forward(b, T.new{1})
    assert.equal(0, (crit:backward(b, T.new{1}) - gb):norm())
    assert.near(2 * (0.7 - 0.9), gb:get(1, 2), 1e-6)
  end)

  it("adds nothing for confident correct answers", function()
    local crit = capsrun.MarginLoss.new()
    assert.equal(0, crit:forward(T.new{{0.95, 0.05}}, T.new{0}))
  end)

  it("rejects labels outside the classes", function()
    local crit = capsrun.MarginLoss.new()
    assert.error_matches(function() crit:forward(T.zeros(1, 3), T.new{3}) end, "not a class in %[0, 2%]")
    assert.error_matches(function() crit:forward(T.zeros(1, 3), T.new{0.5}) end, "not a class")
    assert.error_matches(function() crit:forward(T.zeros(2, 3), T.new{1}) end, "shape %(2%) expected")
  end)
end)
