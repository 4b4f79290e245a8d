-- layer_norm_bench.lua: the fused layer-norm tape op against the composition of
-- tape ops it replaced, forward and backward of the Set Transformer's (128, 24, 16),
-- one thread, alternating in one process.   build/capsrun bench/layer_norm_bench.lua
local capsrun = require "capsrun"; local T = capsrun.native; local ag = capsrun.autograd
capsrun.set_threads(1)
local x = T.zeros(128, 24, 16):uniform_(T.generator(1), -1, 1)
local R = T.zeros(128, 24, 16):uniform_(T.generator(2), -1, 1)
local function composed(v) local c = v - v:mean(-1, true); return c / ((c * c):mean(-1, true) + 1e-5):sqrt() end
local fused = function(v) return v:layer_norm(-1) end
local tape = ag.tape()
local function run(f, n)
  local t0 = os.clock()
  for _ = 1, n do tape:reset(); local v = tape:leaf(x, nil, true); local y = f(v); tape:backward(y, R) end
  return (os.clock() - t0) / n * 1e3
end
run(fused, 20); run(composed, 20)
local a, b = 0, 0
for _ = 1, 5 do a = a + run(fused, 100); b = b + run(composed, 100) end
print(("fused %.3f ms, composed %.3f ms a forward+backward of (128, 24, 16): %.1fx"):format(a / 5, b / 5, b / a))
