-- One training step of the stacked capsule autoencoder (forward, backward,
-- Adam) in the official MNIST configuration (40 parts, 32 objects, 40x40),
-- without presence noise, on random images, timed over STEPS steps after
-- one warm-up step; printed as bench/scae_torch.py prints.
--   capsrun bench/scae_bench.lua [THREADS] [BATCH] [STEPS] [PARAMS_OUT]
-- With PARAMS_OUT, the initial parameters are written there first (for the PyTorch side).
local capsrun = require "capsrun"
local threads, batch, steps = math.tointeger(tonumber(arg[1] or "1")), math.tointeger(tonumber(arg[2] or "128")),
  math.tointeger(tonumber(arg[3] or "5"))
capsrun.set_threads(threads)
local g = capsrun.generator(1)
local m = capsrun.scae.SCAE.new{gen = g}
m:evaluate()
if arg[4] then
  local t = {}
  for _, e in ipairs(m:named_parameters()) do t["param." .. e.name] = e.param end
  capsrun.native.save_tensors(arg[4], t)
end
local ps, gs = m:parameters()
local opt = capsrun.optim.Adam.new(ps, gs, {lr = 1e-4})
local xs, one = {}, capsrun.native.ones(1)
for i = 1, steps + 1 do xs[i] = capsrun.zeros(batch, 1, 40, 40):uniform_(g) end
local function step(x)
  m:zero_grad()
  m:forward(x)
  m:backward(x, one)
  opt:step()
end
step(xs[steps + 1])
local t0 = capsrun.wallclock()
for i = 1, steps do step(xs[i]) end
print(("capsrun SCAE step, batch %d, %d threads: %.2f ms"):format(batch, threads,
  (capsrun.wallclock() - t0) / steps * 1000))
