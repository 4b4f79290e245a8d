-- The part capsule autoencoder (capsrun.scae.PCAE): the whole model against
-- PyTorch's version of the official code (bench/pcae_torch.py, float64) on
-- identical weights: loss, poses, presences and every gradient within 1e-4;
-- a few steps of Adam lower the loss on generated digits.
local capsrun = require "capsrun"
local H = require "spec.helpers"
local T = capsrun.native
local PCAE = require "capsrun.scae.PCAE"

describe("PCAE", function()
  local torch_ok = H.have_torch()
  local run = (torch_ok or os.getenv("CI") == "true") and it or pending
  run("equals PyTorch's version of the official code on identical weights: loss and gradients within 1e-4", function()
    assert.is_true(torch_ok, "python3-torch is required under CI")
    -- relu1 templates, and run_mnist.sh's sigmoid templates coloured by the features and mixed by alpha
    -- templates; grey, and colour (3 channels: the official decoder's n_channels)
    -- and the official prep='sobel': the likelihood of the images' edges (the reference computes them itself)
    for _, case in ipairs{{"relu1", 1}, {"official", 1}, {"relu1", 3}, {"official", 3}, {"relu1", 3, "sobel"},
        {"official", 1, "sobel"}} do
      local templates, channels, target = case[1], case[2], case[3] or "image"
      local g = T.generator(3)
      local m = PCAE.new{gen = g, parts = 3, maps = 8, features = 2, templates = templates, channels = channels,
        target = target}
      m:evaluate()
      for _, e in ipairs(m:named_parameters()) do   -- away from the initialisation: every path has a gradient
        if e.name:find("head%.") and (not e.name:find("templates") or e.name:find("alpha")) then
          e.param:add_(T.zeros(e.param:size()):uniform_(g, -0.3, 0.3))
        elseif e.name == "head.templates" then   -- off relu1's kinks at 0 and 1, where the two sides differ
          e.param:mul_(0.98):add_(0.01)
        end
      end
      local images = T.zeros(2, channels, 40, 40):uniform_(g, 0, 1)
      m:zero_grad()
      local loss = m:forward(images)
      m:backward(images, T.ones(1))
      local entries = {images = images, config = "parts=3 features=2 target=" .. target}
      local ref = H.torch_reference("pcae_torch.py", entries, m)
      assert.near(ref.loss:get(1), loss:get(1), 1e-4 * math.abs(ref.loss:get(1)))
      assert.is_true(H.rel(m.result.presence, ref.presence) < 1e-4)
      assert.is_true(H.rel(m.result.pose, ref.poses) < 1e-4)
      H.assert_grads_match(m, ref)
      if templates == "official" then
        assert.is_not_nil(ref["grad.head.templates_alpha"])
        assert.is_nil(m.result.temperature)
        assert.same({2, 3, channels}, m.result.color:size())
      end
      assert.same({3 * channels, 11, 11}, m.result.templates:size())
      assert.same({2, 4, channels * 40 * 40}, m.result.components:size())
      assert.equal(target == "sobel" and m.target or images, m.result.target)
    end
    assert.error_matches(function() PCAE.new{channels = 5} end, "channels 1 to 4 expected, got 5")
    assert.error_matches(function() PCAE.new{target = "edges"} end, "target 'image' or 'sobel' expected, got 'edges'")
    assert.error_matches(function() PCAE.new{templates = "soft"} end, "templates 'relu1' or 'official' expected, got 'soft'")
  end)

  it("learns: a few Adam steps on generated digits lower the loss", function()
    local g = T.generator(4)
    local m = PCAE.new{gen = g, parts = 4, maps = 8, features = 2}
    local set = capsrun.data.load("mnist", "train", {dir = H.mnist(), limit = 16})
    local images = T.pad2d_forward(set.images, 6, {})   -- 40x40, as the paper's canvas
    local ps, gs = m:parameters()
    local opt = capsrun.optim.Adam.new(ps, gs, {lr = 3e-3})
    m:evaluate()
    local first = m:forward(images):get(1)
    m:train()
    for _ = 1, 15 do
      m:zero_grad()
      m:forward(images)
      m:backward(images, T.ones(1))
      opt:step()
    end
    m:evaluate()
    local last = m:forward(images):get(1)
    assert.is_true(last < first, ("%g -> %g"):format(first, last))
    assert.same({16, 4, 6}, m.result.pose:size())
    assert.error_matches(function() PCAE.new{input = 10} end, "10x10 input is too small")
  end)
end)
