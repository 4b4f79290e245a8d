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

  it("warms up linearly, then anneals to zero along a cosine (onecycle)", function()
    local opt = capsrun.optim.Adam.new({T.zeros(1)}, {T.zeros(1)},
      {lr = 2, schedule = "onecycle", warmup_steps = 3, total_steps = 11})
    local lrs = {}
    for s = 0, 12 do lrs[s] = opt:current_lr(); opt:step() end
    assert.near(0.5, lrs[0], 1e-12); assert.near(1.0, lrs[1], 1e-12); assert.near(1.5, lrs[2], 1e-12)
    assert.near(2.0, lrs[3], 1e-12)                 -- the peak, then cosine over 8 steps
    assert.near(1.0, lrs[7], 1e-12)                 -- half-way: cos(pi/2)
    assert.near(2 * 0.5 * (1 + math.cos(math.pi / 8)), lrs[4], 1e-12)
    assert.near(0, lrs[11], 1e-12); assert.near(0, lrs[12], 1e-12)   -- stays at 0 past the end
    assert.error_matches(function()
      capsrun.optim.Adam.new({T.zeros(1)}, {T.zeros(1)}, {schedule = "onecycle"}) end, "needs total_steps")
    assert.error_matches(function()
      capsrun.optim.Adam.new({T.zeros(1)}, {T.zeros(1)}, {schedule = "step"}) end, "'exp' or 'onecycle' expected")
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

  it("flushes denormals by default, in every thread: tiny gradients leave zero second moments", function()
    -- 1e-20 squared is 1e-40, a denormal float: kept, every operation on it
    -- costs about a hundred cycles, which made late epochs 1.8x slower
    local function second_moments()
      local n = 200000   -- above adam_update's threshold for running on all OpenMP threads
      local p, g = T.zeros(n), T.zeros(n):fill_(1e-20)
      local opt = capsrun.optim.Adam.new({p}, {g}, {lr = 1e-3})
      opt:step()
      return opt.v[1]:sum()
    end
    local threads = capsrun.get_threads()
    capsrun.set_threads(2)
    local uname = io.popen("uname -m")
    local x86 = (uname:read("l") or ""):match("86") ~= nil
    uname:close()
    assert.equal(x86, capsrun.flush_denormals())   -- on from start where the CPU has the mode
    if x86 then
      assert.equal(0, second_moments())
      assert.equal(0, T.zeros(3):fill_(1e-30):mul_(1e-10):sum())
      assert.is_true(capsrun.set_flush_denormals(false))
      assert.is_false(capsrun.flush_denormals())
      assert.near(200000 * 1e-43, second_moments(), 1e-39)
      assert.is_true(T.zeros(3):fill_(1e-30):mul_(1e-10):sum() > 0)
    end
    assert.equal(x86, capsrun.set_flush_denormals(true))
    if x86 then assert.equal(0, second_moments()) end
    assert.error_matches(function() capsrun.set_flush_denormals(1) end, "boolean expected")
    capsrun.set_threads(threads)
  end)
end)

describe("RMSProp", function()
  it("follows TensorFlow 1's update (ms from 1, momentum on lr g / sqrt(ms + eps)) with Adam's schedules", function()
    local g = capsrun.generator(4)
    local p = capsrun.zeros(7):uniform_(g, -1, 1)
    local start = p:clone()
    local grads = {}
    for s = 1, 5 do grads[s] = capsrun.zeros(7):uniform_(g, -2, 2) end
    local gbuf = capsrun.zeros(7)
    local opt = capsrun.optim.RMSProp.new({p}, {gbuf}, {lr = 0.05, rho = 0.8, momentum = 0.7, eps = 1e-3,
      decay_rate = 0.5, decay_steps = 2})
    for s = 1, 5 do gbuf:copy_(grads[s]); opt:step() end
    for i = 1, 7 do   -- the same five steps in double precision
      local x, ms, mom = start:get(i), 1, 0
      for s = 1, 5 do
        local lr, gi = 0.05 * 0.5 ^ ((s - 1) / 2), grads[s]:get(i)
        ms = 0.8 * ms + 0.2 * gi * gi
        mom = 0.7 * mom + lr * gi / math.sqrt(ms + 1e-3)
        x = x - mom
      end
      assert.near(x, p:get(i), 1e-5)
    end
    assert.equal(5, opt.step_count)
  end)

  it("minimises a quadratic and refuses bad hyper-parameters naming RMSProp", function()
    local x = capsrun.new{3, -2}
    local gx = capsrun.zeros(2)
    local opt = capsrun.optim.RMSProp.new({x}, {gx}, {lr = 0.01})
    for _ = 1, 500 do gx:copy_(x):mul_(2); opt:step() end
    assert.is_true(x:norm() < 0.05, tostring(x:norm()))
    assert.error_matches(function() capsrun.optim.RMSProp.new({x}, {}) end, "RMSProp.new: as many gradients")
    assert.error_matches(function()
      capsrun.native.rmsprop_step(x, gx, capsrun.ones(2), capsrun.zeros(2), 0.1, 1.5, 0.9, 1e-8)
    end, "rho and momentum in %[0, 1%)")
  end)
end)
