-- routing_bench.lua: one routing alone, forward + backward, on the
-- predictions of the paper's CapsNet (B, 1152, 10, 16), as
-- bench/routing_torch.py times its PyTorch peer.
--   build/capsrun bench/routing_bench.lua ROUTING THREADS BATCH STEPS
--   ROUTING: dynamic (the C kernel), or a name in capsrun.routing
local capsrun = require "capsrun"
local T = capsrun.native
local ag = capsrun.autograd

local name, threads, batch, steps = arg[1], tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4])
if not (name and threads and batch and steps) then
  capsrun.exit(2, "usage: capsrun bench/routing_bench.lua ROUTING THREADS BATCH STEPS")
end
capsrun.set_threads(threads)
local I, J, D = 1152, 10, 16
local g = T.generator(1)
local uhat = T.zeros(batch, I, J, D):normal_(g, 0, 0.01)
local gv = T.zeros(batch, J, D):normal_(g, 0, 1)
local step
if name == "dynamic" then
  local ws = {}
  step = function()
    T.caps_route_forward(uhat, 3, ws)
    T.caps_route_backward(uhat, gv, ws)
  end
else
  local entry = capsrun.routing[name] or capsrun.exit(2, "unknown routing " .. name)
  local route = type(entry) == "table" and entry.route or entry
  local params = type(entry) == "table" and entry.params and entry.params(I, J, D) or {}
  local tape = ag.tape()
  step = function()
    tape:reset()
    local p = {}
    for k, v in pairs(params) do p[k] = tape:leaf(v, nil, true) end
    local x = tape:leaf(uhat, nil, true)
    tape:backward(route(x, 3, p), gv)
  end
end
step()
local t0 = T.wallclock()
for _ = 1, steps do step() end
print(("capsrun %s batch %d: %.2f ms per forward + backward"):format(name, batch, 1000 * (T.wallclock() - t0) / steps))
