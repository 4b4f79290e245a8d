local capsrun = require "capsrun"
local T = capsrun.native
local H = require "spec.helpers"

describe("CapsNet", function()
  it("has the paper's shapes for 28x28 inputs", function()
    local m = capsrun.CapsNet.new{gen = T.generator(1)}
    assert.equal(1152, m.config.in_caps)
    assert.same({1152, 10, 16, 8}, m.digitcaps.weight:size())
    local v = m:forward(T.zeros(2, 1, 28, 28))
    assert.same({2, 10, 16}, v:size())
    assert.same({2, 1152, 8}, m.primary.output:size())
    assert.equal(20992 + 5308672 + 1474560, m:num_parameters())
  end)

  it("derives its capsule counts from the input size, not constants", function()
    local m = capsrun.CapsNet.new{input = {1, 36, 36}, classes = 5, conv_channels = 16, primary_types = 4,
      primary_dim = 4, digit_dim = 6, gen = T.generator(2)}
    -- 36 -> conv 9: 28 -> primary 9 stride 2: 10x10 -> 4 types * 100 = 400 capsules
    assert.equal(400, m.config.in_caps)
    assert.same({3, 5, 6}, m:forward(T.zeros(3, 1, 36, 36)):size())
    assert.error_matches(function() capsrun.CapsNet.new{input = {1, 12, 12}} end,
      "the primary-capsule layer needs inputs of at least 9x9 pixels, got 4x4", 1, true)
    assert.error_matches(function() capsrun.CapsNet.new{input = {3, 16, 8}} end,
      "the conv1 layer needs inputs of at least 9x9 pixels, got 16x8")
  end)

  it("lets scripts change the routing iterations", function()
    local m = capsrun.CapsNet.new{input = {1, 20, 20}, conv_channels = 8, primary_types = 2, gen = T.generator(3)}
    m.digitcaps.weight:normal_(T.generator(4), 0, 5)
    local x = T.zeros(1, 1, 20, 20):uniform_(T.generator(5))
    local three = m:forward(x):clone()
    m.digitcaps.routing_iters = 1
    assert.is_true((m:forward(x) - three):norm() > 1e-3 * three:norm())
  end)

  it("learns: the loss on a small training subset drops", function()
    local gen = capsrun.manual_seed(7)
    local m = capsrun.CapsNet.new{input = {1, 20, 20}, conv_channels = 16, primary_types = 4, gen = gen}
    local clf = capsrun.train.classifier(m)
    local p, g = m:parameters()
    local opt = capsrun.optim.Adam.new(p, g, {lr = 3e-3})
    -- two classes that differ in where the ink is
    local x, y = T.zeros(16, 1, 20, 20), T.zeros(16)
    for b = 1, 16 do
      local c = b % 2
      y:set(b, c)
      for i = 1, 20 do for j = 1, 10 do x:set(b, 1, i, j + 10 * c, 0.5 + 0.5 * gen:uniform()) end end
    end
    local first = capsrun.train.step(clf, opt, x, y)
    local last, correct
    for _ = 1, 30 do last, correct = capsrun.train.step(clf, opt, x, y) end
    assert.is_true(last < first / 2, ("loss %g -> %g"):format(first, last))
    assert.equal(16, correct)
  end)

  it("saves and loads its parameters, refusing a mismatched model", function()
    local dir = H.tmpdir()
    local a = capsrun.CapsNet.new{input = {1, 20, 20}, conv_channels = 8, primary_types = 2, gen = T.generator(8)}
    local b = capsrun.CapsNet.new{input = {1, 20, 20}, conv_channels = 8, primary_types = 2, gen = T.generator(9)}
    capsrun.train.save(a, dir .. "/a.tensors")
    capsrun.train.load(b, dir .. "/a.tensors")
    assert.equal(0, (a.digitcaps.weight - b.digitcaps.weight):norm())
    local c = capsrun.CapsNet.new{input = {1, 20, 20}, conv_channels = 4, primary_types = 2, gen = T.generator(9)}
    assert.error_matches(function() capsrun.train.load(c, dir .. "/a.tensors") end, "the model expects")
    H.rm_rf(dir)
  end)
end)
