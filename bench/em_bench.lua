-- em_bench.lua: capsrun's MatrixCapsNet (EM routing) timed on random
-- MNIST-shaped data, as bench/matcaps_torch.py times its PyTorch peer:
-- one warm-up step, then `steps` training steps (forward, spread loss,
-- backward, Adam); the time split per layer.
--
--   build/capsrun bench/em_bench.lua [--batches 32,64] [--steps 5] [--threads N] [--routing-iters 3]
local capsrun = require "capsrun"
local native = capsrun.native

local opts = capsrun.cli.parse(arg, {
  {"batches", "string", "32", "batch sizes to time"},
  {"steps", "int", 5, "timed training steps per batch size (after one warm-up step)", min = 1},
  {"threads", "int", nil, "threads (default: all cores)", min = 1},
  {"routing-iters", "int", 3, "EM routing iterations", min = 1},
  {"em-sizes", "string", "64,8,16,16", "A,B,C,D"},
}, "usage: capsrun bench/em_bench.lua [options]")
if opts.threads then capsrun.set_threads(opts.threads) end
local sizes = {}
for v in opts.em_sizes:gmatch("%d+") do sizes[#sizes + 1] = tonumber(v) end

local gen = capsrun.generator(1)
local model = capsrun.MatrixCapsNet.new{A = sizes[1], B = sizes[2], C = sizes[3], D = sizes[4],
  routing_iters = opts.routing_iters, gen = gen}
local clf = capsrun.train.classifier(model)
local params, grads = model:parameters()
local optimizer = capsrun.optim.Adam.new(params, grads, {lr = 1e-3})
print(("capsrun: %d threads, MatrixCapsNet A,B,C,D = %s, %d EM iterations, %s"):format(capsrun.get_threads(),
  opts.em_sizes, opts.routing_iters, native.blas_info().description))
for b in opts.batches:gmatch("%d+") do
  b = tonumber(b)
  local x = capsrun.zeros(b, 1, 28, 28):uniform_(gen)
  local y = capsrun.zeros(b)
  for i = 1, b do y:set(i, (i - 1) % 10) end
  capsrun.train.step(clf, optimizer, x, y)
  local t = {}
  model:time_modules(t)
  local t0 = native.wallclock()
  for _ = 1, opts.steps do capsrun.train.step(clf, optimizer, x, y) end
  local secs = native.wallclock() - t0
  model:time_modules(nil)
  local split = {}
  for i, m in ipairs(model.modules) do split[#split + 1] = ("%s %.0f%%"):format(m.__name, 100 * (t[i] or 0) / secs) end
  print(("batch %3d: train %.1f images/s   (%s)"):format(b, b * opts.steps / secs, table.concat(split, ", ")))
end
