-- bench.lua: capsrun's CapsNet (with decoder, 3 routing iterations) timed
-- on random MNIST-shaped data: training and inference throughput, the time
-- split per layer, achieved GFLOP/s next to a plain sgemm measured in the
-- same run, and peak resident memory.
--
--   build/capsrun bench/bench.lua [--batches 32,64,128] [--steps 5] [--threads N]
local capsrun = require "capsrun"
local native = capsrun.native

local opts = capsrun.cli.parse(arg, {
  {"batches", "string", "32,64,128", "batch sizes to time"},
  {"steps", "int", 5, "timed training steps per batch size (after one warm-up step)", min = 1},
  {"threads", "int", nil, "threads (default: all cores)", min = 1},
  {"routing-iters", "int", 3, "routing iterations", min = 1},
  {"routing", "string", "dynamic", "dynamic (the C kernel) or a routing written in Lua (capsrun.routing)",
    choices = capsrun.routing.names()},
  {"precision", "string", "f32", "convolution GEMMs: f32, f32-blas, bf16 or auto", choices = {"auto", "bf16", "f32", "f32-blas"}},
}, "usage: capsrun bench/bench.lua [options]")
if opts.threads then capsrun.set_threads(opts.threads) end
capsrun.set_precision(opts.precision)
local clock = native.wallclock

-- multiply-adds of one image, forward, from the model's shapes
local function forward_macs(m, dec)
  local c = m.config
  local h1 = c.input[2] - c.conv_kernel + 1
  local h2 = (h1 - c.primary_kernel) // c.primary_stride + 1
  local conv1 = c.conv_channels * h1 * h1 * c.input[1] * c.conv_kernel ^ 2
  local primary = c.primary_types * c.primary_dim * h2 * h2 * c.conv_channels * c.primary_kernel ^ 2
  local predict = c.in_caps * c.classes * c.digit_dim * c.primary_dim
  local routing = m.digitcaps.routing_iters * c.in_caps * c.classes * c.digit_dim * 2
  local decoder = dec:num_parameters()
  return {conv1 = conv1, primary = primary, predict = predict, routing = routing, decoder = decoder}
end

local function sgemm_gflops()
  local g = capsrun.generator(1)
  local a = capsrun.zeros(256, 20736):uniform_(g)
  local b = capsrun.zeros(20736, 2304):uniform_(g)
  capsrun.matmul(a, b)
  local t0, n = clock(), 3
  for _ = 1, n do capsrun.matmul(a, b) end
  return 2 * 256 * 20736 * 2304 * n / (clock() - t0) / 1e9
end

-- one training step; the model's own timing hook splits the time per
-- layer (forward and backward together); returns the loss
local function timed_step(m, dec, clf, opt, x, y, t)
  local per_module = {}
  m:time_modules(per_module)
  m:zero_grad(); dec:zero_grad()
  local t0 = clock()
  local v = m:forward(x)
  local lengths = clf.head:forward(v)
  local loss = clf.criterion:forward(lengths, y)
  local gv = clf.head:backward(v, clf.criterion:backward(lengths, y))
  local t1 = clock()
  local target = x:reshape(x:size(1), -1)
  local recon = dec:forward(v, y)
  clf.recon_criterion:forward(recon, target)
  gv:add_(dec:backward(v, clf.recon_criterion:backward(recon, target):mul_(clf.recon_weight)))
  local t2 = clock()
  m:backward(x, gv)
  local t3 = clock()
  opt:step()
  local t4 = clock()
  m:time_modules(nil)
  local function add(name, secs) t[name] = (t[name] or 0) + secs end
  add("conv1", per_module[1] + per_module[2])          -- Conv2d and its ReLU
  add("primary caps", per_module[3])
  add("digit caps", per_module[4])                     -- predictions and routing
  add("decoder", t2 - t1)
  add("optimiser", t4 - t3)
  add("loss", (t1 - t0) + (t3 - t2) - per_module[1] - per_module[2] - per_module[3] - per_module[4])
  return loss
end

local gen = capsrun.manual_seed(1)
local model = capsrun.CapsNet.new{gen = gen, routing_iters = opts.routing_iters, routing = opts.routing}
local decoder = capsrun.Decoder.new(10, 16, 784, nil, gen)
local clf = capsrun.train.autoencoder(model, decoder)
local p, g = model:parameters()
local dp, dg = decoder:parameters()
for i = 1, #dp do p[#p + 1] = dp[i]; g[#g + 1] = dg[i] end
local opt = capsrun.optim.Adam.new(p, g)
local macs = forward_macs(model, decoder)
local total_macs = 0
for _, v in pairs(macs) do total_macs = total_macs + v end
-- training FLOPs: forward 2 per MAC, backward twice that (no input gradient for conv1)
local train_flops = 2 * total_macs * 3 - 2 * macs.conv1

local gemm = sgemm_gflops()
print(native.blas_info().description)
print(("capsrun bench: %d threads, CapsNet + decoder, %d iterations of %s routing, convolution GEMMs in %s"):format(
  capsrun.get_threads(), opts.routing_iters, opts.routing, (capsrun.precision())))
print(("sgemm (256 x 20736 x 2304): %.1f GFLOP/s; one training image: %.3f GFLOP -> roofline %.1f images/s"):format(
  gemm, train_flops / 1e9, gemm * 1e9 / train_flops))
local order = {"conv1", "primary caps", "digit caps", "loss", "decoder", "optimiser"}
for b in opts.batches:gmatch("%d+") do
  b = tonumber(b)
  local x = capsrun.zeros(b, 1, 28, 28):uniform_(gen)
  local y = capsrun.zeros(b)
  for i = 1, b do y:set(i, (i - 1) % 10) end
  timed_step(model, decoder, clf, opt, x, y, {})          -- warm-up: buffers settle
  local t, t0 = {}, clock()
  for _ = 1, opts.steps do timed_step(model, decoder, clf, opt, x, y, t) end
  local secs = clock() - t0
  local ips = b * opts.steps / secs
  model:evaluate()
  local i0 = clock()
  for _ = 1, opts.steps do decoder:forward(model:forward(x)) end
  local infer = b * opts.steps / (clock() - i0)
  model:train()
  local split = {}
  for _, k in ipairs(order) do split[#split + 1] = ("%s %.1f%%"):format(k, 100 * (t[k] or 0) / secs) end
  print(("batch %3d: train %.1f images/s (%.1f GFLOP/s, %.0f%% of sgemm), inference %.1f images/s"):format(
    b, ips, ips * train_flops / 1e9, 100 * ips * train_flops / 1e9 / gemm, infer))
  print("           " .. table.concat(split, ", "))
end
print(("peak resident memory: %.0f MiB"):format(native.peak_rss() / 2 ^ 20))
