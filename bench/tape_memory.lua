-- tape_memory.lua: resident memory of CapsNet training with a routing
-- written in Lua, every 100 steps: the tape's buffers are reused, so it
-- stays flat after the first steps.
--   build/capsrun bench/tape_memory.lua [ROUTING] [STEPS] [BATCH]   (dynamic-lua, 1000, 32)
local capsrun = require "capsrun"
local routing, steps, batch = arg[1] or "dynamic-lua", tonumber(arg[2]) or 1000, tonumber(arg[3]) or 32

local function rss_mib()
  local f = assert(io.open("/proc/self/statm"))
  local pages = tonumber(f:read("a"):match("^%d+%s+(%d+)"))
  f:close()
  return pages * 4096 / 2 ^ 20
end

local gen = capsrun.manual_seed(1)
local model = capsrun.CapsNet.new{gen = gen, routing = routing}
local clf = capsrun.train.classifier(model)
local opt = capsrun.optim.Adam.new(model:parameters())
local x = capsrun.zeros(batch, 1, 28, 28):uniform_(gen)
local y = capsrun.zeros(batch)
for i = 1, batch do y:set(i, (i - 1) % 10) end
print(("capsrun tape_memory: CapsNet with %s routing, batch %d, %d steps"):format(routing, batch, steps))
for s = 1, steps do
  capsrun.train.step(clf, opt, x, y)
  if s == 1 or s % 100 == 0 then
    collectgarbage()
    print(("step %5d: resident %.1f MiB"):format(s, rss_mib()))
  end
end
