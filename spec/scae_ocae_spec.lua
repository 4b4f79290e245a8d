-- The object capsule autoencoder over part capsules (capsrun.scae.ImageOCAE)
-- and the stacked model (capsrun.scae.SCAE): gradients by finite
-- differences, the official model written in PyTorch on identical weights,
-- hostile shapes, and the stop-gradient between the two autoencoders.
local capsrun = require "capsrun"
local H = require "spec.helpers"
local T = capsrun.native
local ImageOCAE = require "capsrun.scae.ImageOCAE"
local SCAE = require "capsrun.scae.SCAE"

local function small(gen, templates, posterior_mass)
  return ImageOCAE.new{gen = gen, parts = 5, features = 3, capsules = 4, dims = 8, out_dims = 12, layers = 1,
    heads = 2, caps_params = 6, hidden = 8, templates = templates, posterior_mass = posterior_mass}
end

-- part capsules as a PCAE gives them: affine poses, presences in (0, 1), features
local function parts(g, B, P, F)
  local pose = T.zeros(B, P, 6):uniform_(g, -0.8, 0.8)
  return pose, T.zeros(B, P):uniform_(g, 0.05, 0.95), T.zeros(B, P, F):uniform_(g, -1, 1)
end

describe("ImageOCAE", function()
  it("passes the finite-difference gradient check of the part poses' gradient", function()
    local g = T.generator(3)
    local m = small(g)
    m:evaluate()
    local pose, pres, feats = parts(g, 3, 5, 3)
    local r = capsrun.gradcheck.check(m, pose, {args = {pres, feats}, gen = T.generator(4), samples = 20, h = 5e-3,
      check_params = false})
    assert.is_true(r.input < 1e-2, "worst relative error " .. r.input)
  end)

  it("refuses parts of the wrong shape, naming the argument and the shapes", function()
    local g = T.generator(5)
    local m = small(g)
    local pose, pres, feats = parts(g, 2, 5, 3)
    local ok, err = pcall(m.forward, m, T.zeros(2, 4, 6), pres, feats)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("ImageOCAE: pose (2, 5, 6) expected, got (2, 4, 6)", 1, true), err)
    ok, err = pcall(m.forward, m, pose, T.zeros(2, 5, 1), feats)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("presence (2, 5) expected", 1, true), err)
    ok, err = pcall(m.forward, m, pose, pres, T.zeros(2, 5, 4))
    assert.is_false(ok)
    assert.truthy(tostring(err):find("features (2, 5, 3) expected, got (2, 5, 4)", 1, true), err)
    assert.has_error(function() ImageOCAE.new{parts = 0} end)
    assert.has_error(function() ImageOCAE.new{templates = -1} end)
  end)

  it("refuses templates of the wrong shape, and templates it was not built for", function()
    local g = T.generator(5)
    local pose, pres, feats = parts(g, 2, 5, 3)
    local fed = small(g, 9)
    local ok, err = pcall(fed.forward, fed, pose, pres, feats)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("ImageOCAE: templates (5, 9) expected, got nil", 1, true), err)
    ok, err = pcall(fed.forward, fed, pose, pres, feats, T.zeros(5, 8))
    assert.is_false(ok)
    assert.truthy(tostring(err):find("templates (5, 9) expected, got (5, 8)", 1, true), err)
    ok, err = pcall(fed.forward, fed, pose, pres, feats, T.zeros(5, 9), T.zeros(3, 5))
    assert.is_false(ok)
    assert.truthy(tostring(err):find("colour (2, 5) expected, got (3, 5)", 1, true), err)
    local blind = small(g)
    ok, err = pcall(blind.forward, blind, pose, pres, feats, T.zeros(5, 9))
    assert.is_false(ok)
    assert.truthy(tostring(err):find("no templates expected", 1, true), err)
    assert.truthy(tostring(fed):find("5 parts with their templates", 1, true), tostring(fed))
  end)

  it("passes the finite-difference gradient check with coloured templates fed to the encoder", function()
    local g = T.generator(8)
    local m = small(g, 9)
    m:evaluate()
    local pose, pres, feats = parts(g, 3, 5, 3)
    local r = capsrun.gradcheck.check(m, pose, {args = {pres, feats, T.zeros(5, 9):uniform_(g), T.zeros(3, 5):uniform_(g)},
      gen = T.generator(4), samples = 20, h = 1e-2, check_params = false})   -- float32: smaller steps are rounding
    assert.is_true(r.input < 1e-2, "worst relative error " .. r.input)
  end)

  it("adds noise to the presence logits only while training", function()
    local g = T.generator(6)
    local m = small(g)
    local pose, pres, feats = parts(g, 2, 5, 3)
    m:evaluate()
    local a = m:forward(pose, pres, feats):get(1)
    assert.equal(a, m:forward(pose, pres, feats):get(1))
    m:train()
    assert.are_not.equal(a, m:forward(pose, pres, feats):get(1))
  end)
end)

describe("ImageOCAE against PyTorch", function()
  local torch_ok = H.have_torch()
  local run = (torch_ok or os.getenv("CI") == "true") and it or pending
  -- templates: nil (the parts alone), "plain" (each part's template, as relu1 templates),
  -- "coloured" (scaled by a colour per image and part, as --templates official)
  local function compare(templates, posterior_mass)
    assert.is_true(torch_ok, "python3-torch is required under CI")
    local g = T.generator(7)
    local m = small(g, templates and 9 or nil, posterior_mass)
    m:evaluate()
    for _, e in ipairs(m:named_parameters()) do e.param:add_(T.zeros(e.param:size()):uniform_(g, -0.2, 0.2)) end
    local pose, pres, feats = parts(g, 4, 5, 3)
    local tpl = templates and T.zeros(5, 9):uniform_(g, 0, 1)
    local colour = templates == "coloured" and T.zeros(4, 5):uniform_(g, 0.1, 0.9)
      or templates == "coloured3" and T.zeros(4, 5, 3):uniform_(g, 0.1, 0.9) or nil   -- 3 channels of 3 values
    m:zero_grad()
    local loss = m:forward(pose, pres, feats, tpl, colour)
    local gp = m:backward(pose, T.ones(1)):clone()
    local c = m.config
    local entries = {pose = pose, presence = pres, features = feats, templates = tpl, colour = colour,
      config = ("layers=%d heads=%d capsules=%d "
      .. "classes=%d dynamic_l2_weight=%g prior_within=%g prior_between=%g prior_within_constant=%g "
      .. "posterior_within=%g posterior_between=%g posterior_mass=%s"):format(c.layers, c.heads, c.capsules, c.classes,
      c.dynamic_l2_weight, c.prior_within, c.prior_between, c.prior_within_constant, c.posterior_within,
      c.posterior_between, c.posterior_mass)}
    local ref = H.torch_reference("image_ocae_torch.py", entries, m)
    assert.near(ref.log_prob:get(1), m.result.log_prob, 1e-4 * math.abs(ref.log_prob:get(1)))
    assert.near(ref.loss:get(1), loss:get(1), 1e-4 * math.abs(ref.loss:get(1)))
    assert.is_true(H.rel(m.result.caps_presence, ref.caps_presence) < 1e-4)
    assert.is_true(H.rel(m.result.mass, ref.mass) < 1e-4)
    assert.is_true(H.rel(gp, ref["grad.pose"]) < 1e-4, "pose gradient: " .. H.rel(gp, ref["grad.pose"]))
    H.assert_grads_match(m, ref)
    return loss:get(1)
  end
  run("equals PyTorch's version of the official model on identical weights: loss and gradients within 1e-4", function()
    local weighted = compare(nil)
    -- the released code's part mass (every part alike, not weighted by its presence)
    assert.are_not.equal(weighted, compare(nil, "official"))
    assert.error_matches(function() ImageOCAE.new{posterior_mass = "soft"} end,
      "posterior_mass 'presence' or 'official' expected, got 'soft'")
  end)
  run("equals it with the templates fed to the encoder (feed_templates), plain and coloured per image", function()
    local plain, coloured, coloured3 = compare("plain"), compare("coloured"), compare("coloured3")
    assert.are_not.equal(plain, coloured)   -- the colour reaches the encoder
    assert.are_not.equal(coloured, coloured3)
  end)
end)

describe("SCAE", function()
  local function model(seed, templates, feed)
    return SCAE.new{parts = 4, capsules = 3, maps = 8, features = 2, dims = 8, out_dims = 8, layers = 1,
      templates = templates, feed_templates = feed, gen = T.generator(seed)}
  end

  for _, templates in ipairs{"relu1", "official"} do
    it("sums the two losses, and the object loss sends no gradient into the part autoencoder (" .. templates
      .. " templates, fed to the object encoder)", function()
      local x = T.zeros(2, 1, 40, 40):uniform_(T.generator(1))
      local m = model(11, templates, true)
      assert.is_true(m.config.feed_templates)
      assert.equal(121, m.ocae.config.templates)
      m:evaluate()
      m:zero_grad()
      local total = m:forward(x):get(1)
      assert.near(m.result.part_loss + m.result.object_loss, total, 1e-3)
      local gx = m:backward(x, T.ones(1)):clone()
      -- the same PCAE alone: identical gradients, input's and templates' included
      local alone = model(11, templates, true).pcae
      alone:evaluate()
      alone:zero_grad()
      assert.near(m.result.part_loss, alone:forward(x):get(1), 1e-6)
      assert.equal(0, (alone:backward(x, T.ones(1)) - gx):norm())
      local mine = m.pcae:named_parameters()
      for i, e in ipairs(alone:named_parameters()) do
        assert.equal(0, (e.grad - mine[i].grad):norm(), e.name)
      end
      -- and the OCAE's parameters have gradients of their own
      local sum = 0
      for _, e in ipairs(m.ocae:named_parameters()) do sum = sum + e.grad:norm() end
      assert.is_true(sum > 0)
    end)
  end

  it("feeds the templates to the object encoder when told to (not by default): only the OCAE's loss changes", function()
    local x = T.zeros(2, 1, 40, 40):uniform_(T.generator(1))
    local fed, blind = model(11, nil, true), model(11)
    fed:evaluate(); blind:evaluate()
    fed:forward(x); blind:forward(x)
    assert.equal(fed.result.part_loss, blind.result.part_loss)
    assert.are_not.equal(fed.result.object_loss, blind.result.object_loss)
    assert.is_false(blind.config.feed_templates)
    assert.equal(0, blind.ocae.config.templates)
    -- the encoder's first layer reads 7 + 2 features (+ 121 template values when fed)
    assert.equal(fed:num_parameters() - blind:num_parameters(), 121 * 8)
    assert.truthy(tostring(fed):find("4 parts with their templates", 1, true))
    assert.falsy(tostring(blind):find("with their templates", 1, true))
  end)

  it("allocates no Lua objects step after step (its tape's buffers and scratch tensors are reused)", function()
    local m = model(13)
    local x = T.zeros(4, 1, 40, 40):uniform_(T.generator(3))
    local one = T.ones(1)
    local opt = capsrun.optim.Adam.new(m:parameters())
    local function steps(n) for _ = 1, n do m:zero_grad(); m:forward(x); m:backward(x, one); opt:step() end end
    steps(5)
    collectgarbage(); collectgarbage()
    local before = collectgarbage("count")
    steps(150)
    collectgarbage(); collectgarbage()
    local grew = collectgarbage("count") - before
    assert.is_true(grew < 16, ("the Lua heap grew by %.1f KiB over 150 steps"):format(grew))
  end)

  it("switches both autoencoders to evaluation (no noise) and back", function()
    local x = T.zeros(2, 1, 40, 40):uniform_(T.generator(2))
    local m = model(12)
    m:evaluate()
    local a = m:forward(x):get(1)
    assert.equal(a, m:forward(x):get(1))
    m:train()
    assert.are_not.equal(a, m:forward(x):get(1))
    assert.truthy(tostring(m):find("SCAE(PCAE(", 1, true))
  end)
end)
