-- Matrix capsules with EM routing: invariants of the routing, the spread
-- loss by hand, misuse, and the whole MatrixCapsNet against an independent
-- PyTorch reference (bench/matcaps_torch.py, float64) on identical weights.
-- The finite-difference checks of every layer are in module_contract_spec.lua.
local capsrun = require "capsrun"
local T = capsrun.native

local PYTHON = os.getenv("CAPSRUN_PYTHON") or "/usr/bin/python3"

local function grid(g, b, t, h, w)
  local pose, act = T.zeros(b, 16 * t, h, w):uniform_(g, -1, 1), T.zeros(b, t, h, w):uniform_(g, 0.1, 0.9)
  return T.matcaps_pack(pose, act, {}):clone()
end

local function layer(m)
  m.beta_a:uniform_(T.generator(4), -0.5, 0.5); m.beta_v:uniform_(T.generator(5), -0.5, 0.5)
  return m
end

describe("EM routing", function()
  it("gives each child assignments that sum to 1 over every parent it votes for, at all positions", function()
    -- 3x3 kernels, stride 1, on a 5x5 grid: a centre child is in 9 patches, a corner child in 1
    local m = layer(capsrun.ConvCaps.new(2, 3, 3, 1, 3, T.generator(1)))
    m:forward(grid(T.generator(2), 2, 2, 5, 5))
    local R = m.route_ws.assignments                       -- (b, iters, P = 9, N = 18, J = 3)
    assert.same({2, 3, 9, 18, 3}, R:size())
    R = R:reshape(-1)
    for b = 1, 2 do
      for it = 1, 3 do
        local sums, entries = {}, {}
        for p = 0, 8 do
          local oy, ox = p // 3, p % 3
          for n = 0, 17 do
            local t, k = n % 2, n // 2
            local child = (t * 5 + oy + k // 3) * 5 + ox + k % 3
            for j = 1, 3 do
              local r = R:get(((((b - 1) * 3 + it - 1) * 9 + p) * 18 + n) * 3 + j)
              assert.is_true(r >= 0 and r <= 1)
              sums[child] = (sums[child] or 0) + r
            end
            entries[child] = (entries[child] or 0) + 1
          end
        end
        local count = 0
        for _, s in pairs(sums) do
          assert.near(1, s, 1e-5)
          count = count + 1
        end
        assert.equal(50, count)                            -- every child of the 2 x 5 x 5 grid
        assert.equal(9, entries[(0 * 5 + 2) * 5 + 2])      -- the centre child is in every patch
        assert.equal(1, entries[0])                        -- a corner child in one
      end
    end
  end)

  it("changes the assignments after the first iteration (routing does something)", function()
    local m = layer(capsrun.ConvCaps.new(2, 3, 3, 1, 2, T.generator(1)))
    m:forward(grid(T.generator(2), 1, 2, 4, 4))
    local R = m.route_ws.assignments                       -- (1, 2, P, N, J)
    R = R:reshape(2, -1)
    local first, second = R:narrow(1, 1), R:narrow(2, 1)
    assert.is_true((first - second):norm() > 1e-3)
  end)

  it("keeps activations in (0, 1) and every value finite", function()
    local m = layer(capsrun.ConvCaps.new(3, 4, 3, 2, 3, T.generator(3)))
    local out = m:forward(grid(T.generator(4), 2, 3, 7, 7))
    local _, act = T.matcaps_unpack(out, {})
    assert.is_true(act:min() > 0 and act:max() < 1)
    assert.is_true(out:norm() == out:norm() and out:norm() < math.huge)
  end)

  it("gives a parent with one child that child's vote as its mean, finite, for 1 to 3 iterations", function()
    for iters = 1, 3 do
      local m = layer(capsrun.ConvCaps.new(1, 2, 1, 1, iters, T.generator(6)))
      local x = grid(T.generator(7), 2, 1, 3, 3)
      local out = m:forward(x)                             -- (2, 2, 3, 3, 17)
      local votes = m.votes:reshape(-1)                   -- (2, 9, 1, 2, 16)
      out = out:reshape(-1)
      for b = 1, 2 do
        for j = 1, 2 do
          for p = 1, 9 do
            for h = 1, 16 do
              local mean = out:get(((((b - 1) * 2 + j - 1) * 9) + p - 1) * 17 + h)
              local vote = votes:get((((b - 1) * 9 + p - 1) * 2 + j - 1) * 16 + h)
              assert.near(vote, mean, 1e-5 * math.max(1, math.abs(vote)))
            end
          end
        end
      end
      local g = m:backward(x, m.output:clone():fill_(1))
      assert.is_true(g:norm() == g:norm() and g:norm() < math.huge, "NaN or infinite gradient")
    end
  end)

  it("adds each child's scaled position to its class votes (coordinate addition)", function()
    local on = capsrun.ClassCaps.new(1, 2, 1, T.generator(8))
    local off = capsrun.ClassCaps.new(1, 2, 1, T.generator(8), {coord_add = false})
    local x = grid(T.generator(9), 1, 1, 2, 4)
    on:forward(x); off:forward(x)
    local d = (on.votes - off.votes):reshape(-1)          -- (1, 1, N = 8, 2, 16)
    for n = 0, 7 do
      local y, xx = n // 4, n % 4                           -- entry n = (ky*kw + kx)*T + t, T = 1
      for j = 0, 1 do
        local base = (n * 2 + j) * 16
        assert.near((y + 0.5) / 2, d:get(base + 4), 1e-6)    -- row, first entry of the right-hand column
        assert.near((xx + 0.5) / 4, d:get(base + 8), 1e-6)   -- column, second entry
        assert.near(0, d:get(base + 1), 1e-6)
      end
    end
  end)

  it("with detached assignments, differs from the full gradient exactly when there is an E-step", function()
    local function grads(iters, detach)
      local m = layer(capsrun.ConvCaps.new(2, 3, 3, 1, iters, T.generator(1)))
      m.detach_assignments = detach
      local x = grid(T.generator(2), 2, 2, 4, 4)
      m:zero_grad()
      local out = m:forward(x)
      local gin = m:backward(x, out:clone():uniform_(T.generator(3), -1, 1)):clone()
      return gin, m.grad_weight:clone()
    end
    local a_in, a_w = grads(1, false)
    local b_in, b_w = grads(1, true)
    assert.equal(0, (a_in - b_in):norm()); assert.equal(0, (a_w - b_w):norm())
    local c_in, c_w = grads(3, false)
    local d_in, d_w = grads(3, true)
    assert.is_true((c_in - d_in):norm() > 1e-3 * c_in:norm())
    assert.is_true((c_w - d_w):norm() > 1e-3 * c_w:norm())
  end)

  it("softens the assignments with an E-step temperature below 1, and needs an E-step to matter", function()
    local function run(iters, tau)
      local m = layer(capsrun.ConvCaps.new(2, 3, 3, 1, iters, T.generator(1)))
      m.e_temperature = tau
      local out = m:forward(grid(T.generator(2), 2, 2, 4, 4)):clone()
      local R = m.route_ws.assignments:reshape(-1)
      local peak = 0
      for e = 0, R:numel() // 3 - 1 do
        peak = math.max(peak, R:get(3 * e + 1), R:get(3 * e + 2), R:get(3 * e + 3))
      end
      return out, peak
    end
    local a = run(1, 1.0)
    local b = run(1, 0.25)
    assert.equal(0, (a - b):norm())
    local c, peak_c = run(3, 1.0)
    local d, peak_d = run(3, 0.25)
    assert.is_true((c - d):norm() > 1e-4 * c:norm())
    assert.is_true(peak_d < peak_c, ("peak %g with temperature 0.25, %g without"):format(peak_d, peak_c))
    local m = capsrun.ConvCaps.new(2, 3, 3, 1, 3, T.generator(1))
    m.e_temperature = 0
    local ok, err = pcall(m.forward, m, grid(T.generator(2), 1, 2, 4, 4))
    assert.is_false(ok); assert.truthy(tostring(err):find("temperature", 1, true), err)
  end)

  it("names the function and the argument on misuse", function()
    local m = capsrun.ConvCaps.new(2, 3, 3, 1, 3, T.generator(1))
    assert.has_error(function() m:forward(T.zeros(2, 2, 4, 4)) end)
    local ok, err = pcall(m.forward, m, T.zeros(2, 2, 4, 4, 16))
    assert.is_false(ok); assert.truthy(tostring(err):find("capsule grid", 1, true), err)
    ok, err = pcall(m.forward, m, grid(T.generator(1), 1, 2, 2, 2))
    assert.is_false(ok); assert.truthy(tostring(err):find("does not fit", 1, true), err)
    ok, err = pcall(m.forward, m, grid(T.generator(1), 1, 3, 4, 4))     -- 3 types, the weights expect 2
    assert.is_false(ok); assert.truthy(tostring(err):find("matcaps_votes_forward", 1, true), err)
    m.routing_iters = 0
    ok, err = pcall(m.forward, m, grid(T.generator(1), 1, 2, 4, 4))
    assert.is_false(ok); assert.truthy(tostring(err):find("routing_iters", 1, true), err)
    local fresh = capsrun.ConvCaps.new(2, 3, 3, 1, 3, T.generator(1))
    ok, err = pcall(fresh.backward, fresh, grid(T.generator(1), 1, 2, 4, 4), T.zeros(1, 3, 2, 2, 17))
    assert.is_false(ok); assert.truthy(tostring(err):find("ConvCaps", 1, true), err)
  end)
end)

describe("SpreadLoss", function()
  it("matches the formula by hand, and its margin rises from 0.2 to 0.9", function()
    local crit = capsrun.SpreadLoss.new()
    local a, y = T.new{{0.9, 0.5, 0.1}, {0.2, 0.3, 0.6}}, T.new{0, 2}
    -- sample 1: max(0, .2 - .4)^2 + max(0, .2 - .8)^2 = 0; sample 2: (.2 - .4)^2 -> 0, (.2 - .3)^2 -> 0
    assert.near(0, crit:forward(a, y), 1e-7)
    crit:set_progress(1)
    assert.near(0.9, crit.margin, 1e-12)
    -- margin .9: sample 1: (.9-.4)^2 + (.9-.8)^2 = .26; sample 2: (.9-.4)^2 + (.9-.3)^2 = .61
    assert.near((0.26 + 0.61) / 2, crit:forward(a, y), 1e-6)
    local g = crit:backward(a, y):reshape(-1)
    assert.near(2 * 0.5 / 2, g:get(2), 1e-6)                 -- d/da_1 of sample 1's first term
    assert.near(-(2 * 0.5 + 2 * 0.1) / 2, g:get(1), 1e-6)    -- the target gets minus the sum
    crit:set_progress(0.5)
    assert.near(0.55, crit.margin, 1e-12)
    assert.has_error(function() crit:forward(a, T.new{0, 3}) end)
  end)
end)

describe("MatrixCapsNet", function()
  it("calibrates its betas from the last EM iteration's variances, half of the capsules active", function()
    local m = capsrun.MatrixCapsNet.new{input = {1, 20, 20}, A = 4, B = 2, C = 3, D = 2, classes = 3, gen = T.generator(2)}
    local x = T.zeros(4, 1, 20, 20):uniform_(T.generator(3), 0, 1)
    m:forward(x)
    -- em_mean_half_log_var against the statistics' layout read by hand: (iters, patches, J, 34) per sample,
    -- the variances at 16..31, the data at 33
    local caps2 = m.convcaps2
    local stats, iters, J = caps2.route_ws.stats, caps2.routing_iters, caps2.out_types
    local P = stats:size(2) // (iters * J * 34)
    local got = T.em_mean_half_log_var(stats, iters, J)
    for j = 0, J - 1 do
      local sum, weight = 0, 0
      for b = 1, stats:size(1) do
        for p = 0, P - 1 do
          local o = ((iters - 1) * P * J + p * J + j) * 34
          local lv = 0
          for h = 16, 31 do lv = lv + 0.5 * math.log(stats:get(b, o + h + 1)) end
          sum, weight = sum + stats:get(b, o + 34) * lv / 16, weight + stats:get(b, o + 34)
        end
      end
      assert.near(sum / weight, got:get(j + 1), 1e-4 * math.abs(sum / weight) + 1e-6)
    end
    local acts = m:calibrate(x)
    for k = 1, 3 do assert.is_true(acts[k] > 0.2 and acts[k] < 0.8, ("layer %d: mean activation %g"):format(k, acts[k])) end
    assert.error_matches(function() T.em_mean_half_log_var(stats, iters + 5, J) end, "statistics saved by em_route_forward")
  end)

  it("has the small model's structure and parameter count (A=64, B=8, C=D=16)", function()
    local m = capsrun.MatrixCapsNet.new{}
    -- conv 64*25+64, primary 64*128+128 + 64*8+8, convcaps 72*16*16 + 32, 144*16*16 + 32, class 16*10*16 + 20
    assert.equal(1664 + 8320 + 520 + 18464 + 36896 + 2580, m:num_parameters())
    local out = m:forward(T.zeros(2, 1, 28, 28):uniform_(T.generator(1)))
    assert.same({2, 10, 1, 1, 17}, out:size())
    assert.same({2, 16, 5, 5, 17}, m.convcaps1.output:size())
    assert.same({2, 16, 3, 3, 17}, m.convcaps2.output:size())
    m:set_routing_iters(2)
    assert.equal(2, m.classcaps.routing_iters)
    assert.has_error(function() capsrun.MatrixCapsNet.new{input = {1, 12, 12}} end)
  end)

  it("anneals the E-step temperature over the first half of training, and loads at the final one", function()
    local gen = T.generator(5)
    local m = capsrun.MatrixCapsNet.new{A = 4, B = 2, C = 2, D = 2, routing_iters = 3, gen = gen,
      e_temperature = 1 / 16, e_temperature_final = 1}
    local function temps()
      return {m.convcaps1.e_temperature, m.convcaps2.e_temperature, m.classcaps.e_temperature}
    end
    assert.same({1 / 16, 1 / 16, 1 / 16}, temps())
    m:set_progress(0.5)   -- geometric: halfway between 1/16 and 1 is 1/4
    for _, t in ipairs(temps()) do assert.near(0.25, t, 1e-12) end
    -- train.step: step k of 4 anneals with f = (k - 1) / 2, so the third step routes at 1
    local clf = capsrun.train.classifier(m)
    local params, grads = m:parameters()
    local opt = capsrun.optim.Adam.new(params, grads, {lr = 1e-3, total_steps = 4})
    local x, y = T.zeros(4, 1, 28, 28):uniform_(gen), T.new{1, 2, 3, 4}
    m:set_progress(0)
    capsrun.train.step(clf, opt, x, y)
    assert.near(1 / 16, m.classcaps.e_temperature, 1e-12)
    capsrun.train.step(clf, opt, x, y)
    assert.near(0.25, m.classcaps.e_temperature, 1e-12)
    capsrun.train.step(clf, opt, x, y)
    assert.same({1, 1, 1}, temps())
    -- saved and loaded: the configuration keeps both ends, the layers route at the final one
    local path = os.tmpname()
    m:set_progress(0)
    capsrun.train.save(m, path)
    local back, _, c = capsrun.train.load_model(path)
    os.remove(path)
    assert.equal(1 / 16, c.e_temperature)
    assert.equal(1, c.e_temperature_final)
    assert.equal(1, back.convcaps2.e_temperature)
    m:set_progress(1)
    local a = m:forward(x):clone()
    assert.equal(0, (back:forward(x) - a):norm())
    -- without annealing, set_progress leaves hand-set fields alone
    local plain = capsrun.MatrixCapsNet.new{A = 4, B = 2, C = 2, D = 2, gen = gen, e_temperature = 0.5}
    plain.classcaps.e_temperature = 0.3
    plain:set_progress(1)
    assert.equal(0.3, plain.classcaps.e_temperature)
    assert.equal(0.5, plain.convcaps1.e_temperature)
  end)

  local torch_ok = os.execute(PYTHON .. " -c 'import torch' >/dev/null 2>&1") == true
  local run = (torch_ok or os.getenv("CI") == "true") and it or pending
  local cases = {
    {"3 iterations, 20x24 images", 3, {3, 1, 20, 24}, {A = 6, B = 3, C = 4, D = 5, classes = 4}},
    {"1 iteration, RGB 22x22", 1, {2, 3, 22, 22}, {A = 5, B = 2, C = 3, D = 3, classes = 3}},
    {"2 iterations, 28x28, the small model's sizes", 2, {2, 1, 28, 28}, {}},
  }
  for k, case in ipairs(cases) do
    run(("agrees with the PyTorch reference on outputs and every gradient to 1e-4 (%s)"):format(case[1]), function()
      assert.is_true(torch_ok, "python3-torch is required under CI")
      local gen = T.generator(11 + k)
      local opts = {input = {case[3][2], case[3][3], case[3][4]}, routing_iters = case[2], gen = gen}
      for key, v in pairs(case[4]) do opts[key] = v end
      local model = capsrun.MatrixCapsNet.new(opts)
      for _, e in ipairs(model:named_parameters()) do
        if e.name:find("beta") then e.param:uniform_(gen, -0.1, 0.1) end
      end
      local x = T.zeros(table.unpack(case[3])):uniform_(gen)
      local labels = T.zeros(case[3][1])
      for i = 1, case[3][1] do labels:set(i, (i * 2) % model.config.classes) end
      local clf = capsrun.train.classifier(model)
      clf.criterion.margin = 0.5
      model:zero_grad()
      local out = model:forward(x)
      local scores = clf.head:forward(out)
      local loss = clf.criterion:forward(scores, labels)
      model:backward(x, clf.head:backward(out, clf.criterion:backward(scores, labels)))

      local dir = os.tmpname(); os.remove(dir); assert(T.mkdir(dir))
      local files = {input = x, labels = labels, settings = T.new{case[2], 2, 1.0, 1e-4, 0.5}}
      for _, e in ipairs(model:named_parameters()) do files[e.name] = e.param end
      T.save_tensors(dir .. "/in.tensors", files)
      local ok = os.execute(("%s bench/matcaps_torch.py reference %s/in.tensors %s/out.tensors 2>/dev/null")
        :format(PYTHON, dir, dir))
      assert.is_true(ok == true, "the PyTorch reference failed")
      local ref = T.load_tensors(dir .. "/out.tensors")
      os.remove(dir .. "/in.tensors"); os.remove(dir .. "/out.tensors"); os.remove(dir)
      local function rel(a, b) return (a - b):norm() / b:norm() end
      assert.is_true(rel(out, ref.out) < 1e-4, ("outputs differ: relative %g"):format(rel(out, ref.out)))
      assert.near(ref.loss:get(1), loss, 1e-4 * math.abs(ref.loss:get(1)))
      local names = 0
      for _, e in ipairs(model:named_parameters()) do
        local err = rel(e.grad, ref["grad." .. e.name])
        assert.is_true(err < 1e-4, ("gradient of %s differs: relative %g"):format(e.name, err))
        names = names + 1
      end
      assert.equal(15, names)
    end)
  end
end)
