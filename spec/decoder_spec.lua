local capsrun = require "capsrun"
local T = capsrun.native

describe("Decoder", function()
  local g = T.generator(31)

  local function capsules(b, J, D, longest)
    local v = T.zeros(b, J, D):uniform_(g, -0.1, 0.1)
    for i = 1, b do for d = 1, D do v:set(i, longest[i] + 1, d, 0.5) end end
    return v
  end

  it("has the paper's MLP: 160 -> 512 -> 1024 -> 784 sigmoid", function()
    local dec = capsrun.Decoder.new(10, 16, 784, nil, g)
    assert.equal(160 * 512 + 512 + 512 * 1024 + 1024 + 1024 * 784 + 784, dec:num_parameters())
    local out = dec:forward(T.zeros(2, 10, 16):uniform_(g), T.new{1, 2})
    assert.same({2, 784}, out:size())
    assert.is_true(out:min() > 0 and out:max() < 1)
  end)

  it("masks by the given label, keeping only that capsule", function()
    local dec = capsrun.Decoder.new(3, 2, 4, {5}, g)
    local v = capsules(2, 3, 2, {0, 0})
    dec:forward(v, T.new{2, 1})
    local m = dec.masked                                     -- (2, 6)
    assert.same({0, 0, 0, 0, v:get(1, 3, 1), v:get(1, 3, 2)}, m:totable()[1])
    assert.same({0, 0, v:get(2, 2, 1), v:get(2, 2, 2), 0, 0}, m:totable()[2])
  end)

  it("masks by the longest capsule when no label is given", function()
    local dec = capsrun.Decoder.new(3, 2, 4, {5}, g)
    local v = capsules(2, 3, 2, {2, 0})
    dec:forward(v)
    assert.same({2, 0}, dec.index:totable())
    assert.same({0, 0, 0, 0, 0.5, 0.5}, dec.masked:totable()[1])
  end)

  it("passes a finite-difference check of capsule and weight gradients", function()
    local dec = capsrun.Decoder.new(3, 4, 6, {5, 7}, g)
    local v = capsules(2, 3, 4, {1, 2})
    local r = capsrun.gradcheck.check(dec, v, {gen = T.generator(3), args = {T.new{1, 2}}})
    assert.is_true(capsrun.gradcheck.max_error(r) < 2e-3)
  end)

  it("rejects labels outside the capsules", function()
    local dec = capsrun.Decoder.new(3, 2, 4, {5}, g)
    assert.error_matches(function() dec:forward(T.zeros(1, 3, 2), T.new{3}) end, "not in %[0, 2%]")
    assert.error_matches(function() dec:forward(T.zeros(2, 3, 2), T.new{0}) end, "shape %(2%) expected")
  end)
end)

describe("autoencoder training", function()
  it("adds 0.0005 x the summed squared error to the margin loss", function()
    local gen = T.generator(32)
    local model = capsrun.CapsNet.new{input = {1, 20, 20}, conv_channels = 8, primary_types = 2, gen = gen}
    local dec = capsrun.Decoder.new(10, 16, 400, {8, 8}, gen)
    local plain = capsrun.train.classifier(model)
    local ae = capsrun.train.autoencoder(model, dec)
    local x, y = T.zeros(2, 1, 20, 20):uniform_(gen), T.new{1, 2}
    local p, gr = model:parameters()
    local opt = capsrun.optim.Adam.new(p, gr, {lr = 0})   -- lr 0: parameters stay
    local margin = capsrun.train.step(plain, opt, x, y)
    local total, _, sse = capsrun.train.step(ae, opt, x, y)
    local recon = dec:forward(model:forward(x), y)
    local direct = ((recon - x:reshape(2, 400)) * (recon - x:reshape(2, 400))):sum() / 2
    assert.near(direct, sse, 1e-4 * direct)
    assert.near(margin + 0.0005 * direct, total, 1e-5)
  end)

  it("learns to reconstruct: the error drops on a tiny set", function()
    local gen = capsrun.manual_seed(33)
    local model = capsrun.CapsNet.new{input = {1, 20, 20}, conv_channels = 8, primary_types = 2, gen = gen}
    local dec = capsrun.Decoder.new(10, 16, 400, {32, 64}, gen)
    local ae = capsrun.train.autoencoder(model, dec, {recon_weight = 0.05})
    local p, gr = model:parameters()
    local dp, dg = dec:parameters()
    for i = 1, #dp do p[#p + 1] = dp[i]; gr[#gr + 1] = dg[i] end
    local opt = capsrun.optim.Adam.new(p, gr, {lr = 3e-3})
    local x, y = T.zeros(4, 1, 20, 20), T.new{0, 1, 0, 1}
    for b = 1, 4 do for i = 3, 17 do x:set(b, 1, i, b % 2 == 1 and 6 or 14, 1) end end
    local _, _, first = capsrun.train.step(ae, opt, x, y)
    local last
    for _ = 1, 40 do _, _, last = capsrun.train.step(ae, opt, x, y) end
    assert.is_true(last < first / 3, ("sse %g -> %g"):format(first, last))
  end)
end)

describe("perturbation", function()
  it("with delta 0 reproduces the plain reconstruction", function()
    local gen = T.generator(34)
    local model = capsrun.CapsNet.new{input = {1, 20, 20}, conv_channels = 8, primary_types = 2, gen = gen}
    local dec = capsrun.Decoder.new(10, 16, 400, {16, 16}, gen)
    local x = T.zeros(1, 1, 20, 20):uniform_(gen)
    local grid, class = capsrun.perturb.grid(model, dec, x, {from = 0, to = 0, step = 0.05})
    assert.same({16, 1, 20, 20}, grid:size())
    local plain = dec:forward(model:forward(x))               -- masked by the longest capsule
    assert.equal(class, dec.index:get(1))
    for d = 1, 16 do
      assert.is_true((grid:narrow(d, 1):reshape(1, 400) - plain):norm() < 1e-6)
    end
  end)

  it("moves one dimension per row by each delta", function()
    assert.same(11, #capsrun.perturb.deltas(-0.25, 0.25, 0.05))
    assert.near(0.25, capsrun.perturb.deltas(-0.25, 0.25, 0.05)[11], 1e-12)
    assert.error_matches(function() capsrun.perturb.deltas(0, 1, 0) end, "step > 0")
    local gen = T.generator(35)
    local model = capsrun.CapsNet.new{input = {1, 20, 20}, conv_channels = 8, primary_types = 2, gen = gen}
    local dec = capsrun.Decoder.new(10, 16, 400, {16, 16}, gen)
    local grid = capsrun.perturb.grid(model, dec, T.zeros(1, 20, 20):uniform_(gen), {class = 3})
    assert.same({16, 11, 20, 20}, grid:size())
    -- different deltas decode to different images
    assert.is_true((grid:narrow(1, 1):reshape(11, 400):narrow(1, 1) -
                    grid:narrow(1, 1):reshape(11, 400):narrow(11, 1)):norm() > 0)
    assert.error_matches(function() capsrun.perturb.grid(model, dec, T.zeros(1, 20, 20), {class = 10}) end,
      "class must be in %[0, 9%]")
  end)
end)
