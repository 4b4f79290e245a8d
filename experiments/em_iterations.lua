-- em_iterations.lua: the short probes behind docs/em.md's "three iterations
-- train erratically". One pass over the first --limit MNIST images (batch
-- 32, Adam at a constant --lr), printing the training accuracy every 25
-- steps; --overfit instead fits one batch of 32 for 60 steps with the
-- margin fixed at 0.2, printing loss/right every 10 steps. Also prints how
-- peaked the assignments are at initialisation.
--
--   capsrun experiments/em_iterations.lua --iters 3
--   capsrun experiments/em_iterations.lua --iters 2 --class-iters 3 --lr 1e-2
--   capsrun experiments/em_iterations.lua --iters 3 --overfit
local capsrun = require "capsrun"

local opts = capsrun.cli.parse(arg, {
  {"data", "string", nil, "MNIST folder (as for classify.lua)"},
  {"iters", "int", 2, "EM iterations of every layer", min = 1},
  {"class-iters", "int", nil, "override: EM iterations of the class layer", min = 1},
  {"conv-iters", "int", nil, "override: EM iterations of the two ConvCaps layers", min = 1},
  {"lr", "number", 3e-3, "Adam learning rate (constant)"},
  {"var-eps", "number", 1e-4, "variance epsilon"},
  {"final-lambda", "number", 1.0, "final inverse temperature"},
  {"w-std", "number", 0.5, "std of the transformation matrices at the start"},
  {"detach", "flag", false, "no gradient through the E-steps"},
  {"e-temp", "number", 1.0, "scale of the E-step's Gaussian log-likelihood (1: the paper)"},
  {"e-temp-final", "number", nil, "anneal --e-temp to this over the first half of the pass"},
  {"limit", "int", 4000, "training images", min = 32},
  {"overfit", "flag", false, "fit one batch of 32 instead"},
  {"seed", "int", 1, "seed"},
}, "usage: capsrun experiments/em_iterations.lua [options]")

local set = capsrun.experiment.load_data({dataset = "mnist", data = opts.data, limit = opts.limit})
local gen = capsrun.manual_seed(opts.seed)
local m = capsrun.MatrixCapsNet.new{gen = gen, routing_iters = opts.iters, var_eps = opts.var_eps,
  final_lambda = opts.final_lambda, e_temperature = opts.e_temp, e_temperature_final = opts.e_temp_final}
for _, l in ipairs{m.convcaps1, m.convcaps2, m.classcaps} do
  l.weight:normal_(gen, 0, opts.w_std)
  l.detach_assignments = opts.detach
end
if opts.class_iters then m.classcaps.routing_iters = opts.class_iters end
if opts.conv_iters then m.convcaps1.routing_iters, m.convcaps2.routing_iters = opts.conv_iters, opts.conv_iters end
local first = set.images:narrow(1, 32)
m:calibrate(first)

-- the mean share of a patch entry's assignments that goes to its largest parent
local function peak_share(l)
  local R = l.route_ws.assignments
  local s = R:size()
  local B, I, P, N, J = s[1], s[2], s[3], s[4], s[5]
  local flat, acc, cnt = R:reshape(-1), 0, 0
  for b = 0, math.min(B, 4) - 1 do
    local base = (b * I + I - 1) * P * N * J
    for e = 0, P * N - 1 do
      local mx, sm = 0, 0
      for j = 1, J do local v = flat:get(base + e * J + j); sm = sm + v; mx = math.max(mx, v) end
      if sm > 0 then acc, cnt = acc + mx / sm, cnt + 1 end
    end
  end
  return acc / cnt, 1 / J
end
m:forward(first)
for _, name in ipairs{"convcaps1", "convcaps2", "classcaps"} do
  print(("%s: %d iterations, largest parent's share of a child %.2f (uniform %.2f)"):format(name,
    m[name].routing_iters, peak_share(m[name])))
end

local clf = capsrun.train.classifier(m)
local params, grads = m:parameters()
if opts.overfit then
  clf.criterion.set_progress, clf.criterion.margin = nil, 0.2
  local opt = capsrun.optim.Adam.new(params, grads, {lr = opts.lr})
  local x, y = first, set.labels:narrow(1, 32)
  for step = 1, 60 do
    local loss, c = capsrun.train.step(clf, opt, x, y)
    if step % 10 == 0 then io.write(("%.3f/%d "):format(loss, c)); io.flush() end
  end
else
  local steps = set.n // 32
  local opt = capsrun.optim.Adam.new(params, grads, {lr = opts.lr, total_steps = steps})
  local correct, seen, step = 0, 0, 0
  for images, labels, n in capsrun.data.batches(set, 32, {gen = gen}) do
    local _, c = capsrun.train.step(clf, opt, images, labels)
    correct, seen, step = correct + c, seen + n, step + 1
    if step % 25 == 0 then io.write(("%.0f%% "):format(100 * correct / seen)); io.flush(); correct, seen = 0, 0 end
  end
end
print()
