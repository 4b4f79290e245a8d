-- One training step of the constellation autoencoder (forward, backward,
-- Adam), the official configuration, batch B, timed over STEPS steps after
-- one warm-up step; printed as bench/constellation_torch.py's bench prints.
--   capsrun bench/constellation_bench.lua [THREADS] [BATCH] [STEPS]
local capsrun = require "capsrun"
local threads, batch, steps = tonumber(arg[1] or "1"), tonumber(arg[2] or "32"), tonumber(arg[3] or "20")
capsrun.set_threads(math.tointeger(threads))
local g = capsrun.generator(1)
local m = capsrun.scae.ConstellationAE.new{gen = g}
local ps, gs = m:parameters()
local opt = capsrun.optim.Adam.new(ps, gs, {lr = 1e-4})
local batches = {}
for i = 1, steps + 1 do batches[i] = capsrun.scae.constellation.batch(math.tointeger(batch), g) end
local function step(b)
  m:zero_grad()
  m:forward(b.corners, b.presence)
  m:backward(b.corners, capsrun.native.ones(1))
  opt:step()
end
step(batches[steps + 1])
local t0 = capsrun.wallclock()
for i = 1, steps do step(batches[i]) end
print(("capsrun constellation step, batch %d, %d threads: %.2f ms"):format(batch, threads,
  (capsrun.wallclock() - t0) / steps * 1000))
