-- SCAE's template warp (template_warp.c through capsrun.autograd.template_warp):
-- the identity pose copies a template; finite-difference gradients to the
-- templates and the poses; PyTorch's affine_grid + grid_sample (float64) on
-- the same inputs within 1e-4, values and both gradients; hostile arguments.
local capsrun = require "capsrun"
local H = require "spec.helpers"
local T = capsrun.native
local ag = capsrun.autograd

local function inputs(seed, B, Tn, h, w)
  local g = T.generator(seed)
  local templates = T.zeros(Tn, h, w):uniform_(g, 0, 1)
  local poses = T.zeros(B, Tn, 6)
  for b = 1, B do for t = 1, Tn do   -- near-identity maps: scaled, rotated, shifted
    local s, r = 0.6 + 0.6 * g:uniform(), (g:uniform() - 0.5) * 1.2
    poses:set(b, t, 1, s * math.cos(r)); poses:set(b, t, 2, -s * math.sin(r)); poses:set(b, t, 3, (g:uniform() - 0.5) * 0.6)
    poses:set(b, t, 4, s * math.sin(r)); poses:set(b, t, 5, s * math.cos(r)); poses:set(b, t, 6, (g:uniform() - 0.5) * 0.6)
  end end
  return templates, poses
end

describe("template warp", function()
  it("copies a template under the identity pose, and leaves zeros where the template is not", function()
    local templates = T.zeros(1, 5, 7):uniform_(T.generator(1), 0, 1)
    local id = T.new{{{1, 0, 0, 0, 1, 0}}}
    local tape = ag.tape()
    local out = ag.template_warp(tape:leaf(templates), tape:leaf(id), 5, 7).value
    assert.is_true((out:view(5, 7) - templates:view(5, 7)):norm() < 1e-6)
    local far = T.new{{{1, 0, 5, 0, 1, 5}}}   -- moved off the canvas
    assert.equal(0, ag.template_warp(tape:leaf(templates), tape:leaf(far), 5, 7).value:norm())
  end)

  it("equals a plain bilinear sampler over the whole canvas for extreme poses (it visits only the footprint)", function()
    -- the reference: every pixel of the canvas, the formula of template_warp.c's header, in double
    local function reference(tm, a, Hc, Wc)
      local h, w = tm:size(1), tm:size(2)
      local out = T.zeros(Hc, Wc)
      local function px(y, x) return (y >= 0 and x >= 0 and y < h and x < w) and tm:get(y + 1, x + 1) or 0 end
      for i = 0, Hc - 1 do for j = 0, Wc - 1 do
        local x, y = (2 * j + 1) / Wc - 1, (2 * i + 1) / Hc - 1
        local u = ((a[1] * x + a[2] * y + a[3] + 1) * w - 1) / 2
        local v = ((a[4] * x + a[5] * y + a[6] + 1) * h - 1) / 2
        local x0, y0 = math.floor(u), math.floor(v)
        local fx, fy = u - x0, v - y0
        out:set(i + 1, j + 1, (px(y0, x0) * (1 - fx) + px(y0, x0 + 1) * fx) * (1 - fy)
          + (px(y0 + 1, x0) * (1 - fx) + px(y0 + 1, x0 + 1) * fx) * fy)
      end end
      return out
    end
    local tm = T.zeros(1, 7, 5):uniform_(T.generator(4), 0.2, 1)
    local poses = {{0.1, 0, 0, 0, 0.1, 0}, {0.05, 0.02, 0.9, -0.01, 0.04, -0.9},   -- zoomed in: the template fills the canvas
      {6, 0, 0, 0, 6, 0}, {4, -3, 2, 3, 4, -1},                                  -- zoomed out, rotated: a few pixels
      {1, 2, 0, 0.5, 1, 0}, {1, 2, 0.1, 0.5, 1, 0.2},                           -- singular: a line
      {1, 0, 1.9, 0, 1, -1.95}, {0.7, -0.7, 0, 0.7, 0.7, 0}}                    -- at the edge; rotated 45 degrees
    local tape = ag.tape()
    for n, a in ipairs(poses) do
      local got = ag.template_warp(tape:leaf(tm), tape:leaf(T.new{{a}}), 13, 11).value:view(13, 11)
      local want = reference(tm:view(7, 5), a, 13, 11)
      assert.is_true((got - want):norm() <= 1e-5 * math.max(1, want:norm()), ("pose %d: %g"):format(n, (got - want):norm()))
    end
  end)

  it("passes the finite-difference check for the templates and the poses", function()
    local templates, poses = inputs(2, 2, 3, 6, 5)
    local tape = ag.tape()
    local tv, pv = tape:leaf(templates, nil, true), tape:leaf(poses, nil, true)
    local out = ag.template_warp(tv, pv, 9, 8)
    local R = T.zeros(out.value:size()):uniform_(T.generator(3), -1, 1)
    tape:backward(out, R)
    local gt, gp = ag.grad_of(tv):clone(), ag.grad_of(pv):clone()
    local function loss()
      local t2 = ag.tape()
      return ag.template_warp(t2:leaf(templates), t2:leaf(poses), 9, 8).value:dot(R)
    end
    for _, case in ipairs{{templates, gt, 1e-2}, {poses, gp, 1e-4}} do
      local x, grad, h = case[1], case[2], case[3]
      local flat, gflat = x:view(-1), grad:view(-1)
      for k = 1, flat:numel(), 3 do
        local v0 = flat:get(k)
        flat:set(k, v0 + h); local lp = loss()
        flat:set(k, v0 - h); local lm = loss()
        flat:set(k, v0)
        local num = (lp - lm) / (2 * h)
        assert.is_true(math.abs(num - gflat:get(k)) <= 3e-2 * math.max(1, math.abs(num)),
          ("element %d: finite difference %g, backward %g"):format(k, num, gflat:get(k)))
      end
    end
  end)

  local torch_ok = H.have_torch()
  local run = (torch_ok or os.getenv("CI") == "true") and it or pending
  run("equals PyTorch's affine_grid + grid_sample: values and both gradients within 1e-4", function()
    assert.is_true(torch_ok, "python3-torch is required under CI")
    local templates, poses = inputs(4, 3, 4, 11, 11)
    local tape = ag.tape()
    local tv, pv = tape:leaf(templates, nil, true), tape:leaf(poses, nil, true)
    local out = ag.template_warp(tv, pv, 40, 40)
    local gy = T.zeros(out.value:size()):uniform_(T.generator(5), -1, 1)
    tape:backward(out, gy)
    local ref = H.torch_reference("template_warp_torch.py", {templates = templates, poses = poses, size = T.new{40, 40}, grad_output = gy})
    assert.is_true(H.rel(out.value, ref.output) < 1e-4, "output: " .. H.rel(out.value, ref.output))
    assert.is_true(H.rel(ag.grad_of(tv), ref["grad.templates"]) < 1e-4, "templates: " .. H.rel(ag.grad_of(tv), ref["grad.templates"]))
    assert.is_true(H.rel(ag.grad_of(pv), ref["grad.poses"]) < 1e-4, "poses: " .. H.rel(ag.grad_of(pv), ref["grad.poses"]))
  end)

  it("refuses wrong shapes with messages", function()
    assert.error_matches(function() T.tape_template_warp(T.zeros(2, 3), T.zeros(1, 2, 6), 4, 4) end, "templates %(T, h, w%) expected")
    assert.error_matches(function() T.tape_template_warp(T.zeros(2, 3, 3), T.zeros(1, 3, 6), 4, 4) end, "poses %(B, 2, 6%) expected")
    assert.error_matches(function() T.tape_template_warp(T.zeros(2, 3, 3), T.zeros(1, 2, 6), 0, 4) end, "bad argument #3")
    assert.error_matches(function() T.tape_template_warp_backward(T.zeros(2, 3, 3), T.zeros(1, 2, 6), T.zeros(1, 2, 4)) end,
      "gout %(1, 2, H, W%) expected")
  end)
end)
