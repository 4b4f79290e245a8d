--- Capsule-dimension perturbation (Sabour et al. 2017, figure 4): take the
-- digit capsule of the predicted class, add delta to one of its dimensions
-- at a time, and decode each version.
--   local grid = capsrun.perturb.grid(model, decoder, image, {from = -0.25, to = 0.25, step = 0.05})
--   -- grid: (dims, steps, h, w) reconstructions; grid.class is the class used
local native = require "capsrun.native"

local perturb = {}

--- deltas(from, to, step) -> list of offsets, from..to inclusive
function perturb.deltas(from, to, step)
  if not (step > 0) or to < from then error("perturb: need from <= to and step > 0", 3) end
  local out, n = {}, math.floor((to - from) / step + 0.5)
  for k = 0, n do out[#out + 1] = from + k * step end
  return out
end

--- grid(model, decoder, image (h, w), (c, h, w) or (1, c, h, w), opts) -> tensor
-- (dims, #deltas, h, w), or (dims, #deltas, c, h, w) for c > 1 channels, the
-- class used, and the digit capsule
-- opts: from (-0.25), to (0.25), step (0.05), class (default: the longest capsule)
function perturb.grid(model, decoder, image, opts)
  opts = opts or {}
  local h, w = image:size(image:dim() - 1), image:size(image:dim())
  local c = image:numel() // (h * w)
  local x = image:reshape(1, c, h, w)
  model:evaluate()
  local v = model:forward(x):clone()                                 -- (1, J, D)
  model:train()
  local J, D = v:size(2), v:size(3)
  local class = opts.class or decoder:longest(v):get(1)
  if math.type(class) == "float" then class = math.tointeger(class) end
  if not class or class < 0 or class >= J then error(("perturb: class must be in [0, %d]"):format(J - 1), 2) end
  local deltas = perturb.deltas(opts.from or -0.25, opts.to or 0.25, opts.step or 0.05)
  local n = D * #deltas
  local batch = native.zeros(n, J, D)                                -- every perturbed capsule set
  local index = native.zeros(n):fill_(class)
  for d = 1, D do
    for k, delta in ipairs(deltas) do
      local row = (d - 1) * #deltas + k
      for j = 1, D do batch:set(row, class + 1, j, v:get(1, class + 1, j)) end
      batch:set(row, class + 1, d, v:get(1, class + 1, d) + delta)
    end
  end
  local recon = decoder:forward(batch, index)                        -- (n, h*w)
  if c > 1 then return recon:reshape(D, #deltas, c, h, w):clone(), class, v end
  return recon:reshape(D, #deltas, h, w):clone(), class, v
end

return perturb
