--- The constellation data set of Kosiorek et al. (2019), section 4 and the
-- official code (data/constellation.py, configs/data_config.py): each
-- example is the 2-D corners of a few patterns (by default a square, a
-- triangle and another square: 4 + 3 + 4 = 11 points), each pattern
-- rotated by up to +-90 degrees, scaled by 1 to 4 and translated, present
-- with probability 1/2, the points shuffled and the batch normalised to
-- [-1, 1]. The object capsule autoencoder should explain each example's
-- points as its patterns: points of one pattern won by one capsule.
--
--   local batch = constellation.batch(32, gen)   -- corners (32, 11, 2), presence (32, 11), pattern (32, 11)
local native = require "capsrun.native"

local constellation = {}

-- the official patterns (sm = 1): corners as (x, y); the homogeneous 1 dropped
constellation.PATTERNS = {
  square = {{3, 3}, {1, 1}, {3, 1}, {1, 3}},
  triangle = {{1, 2}, {3, 1}, {3, 3}},
  pentagon = {{1, 1}, {2, -1}, {3, 0}, {3, 2}, {2, 3}},
  L = {{1, 1}, {2, 1}, {3, 1}, {3, 2}, {3, 3}},
}

constellation.DEFAULTS = {patterns = {"square", "triangle", "square"}, drop_prob = 0.5, rotation_percent = 0.5,
  max_upscale = 3, max_translation = 1, noise = 0, shuffle = true}

--- batch(n, gen [, opts]) -> {corners (n, P, 2), presence (n, P), pattern (n, P) (0-based pattern index,
-- as floats), points = P}; opts as DEFAULTS
function constellation.batch(n, gen, opts)
  opts = setmetatable(opts or {}, {__index = constellation.DEFAULTS})
  if math.type(n) ~= "integer" or n < 1 then error("constellation.batch: a positive number of examples expected", 2) end
  local points, ids = {}, {}
  for k, name in ipairs(opts.patterns) do
    local p = constellation.PATTERNS[name]
    if not p then error(("constellation.batch: unknown pattern '%s'"):format(tostring(name)), 2) end
    for _, c in ipairs(p) do points[#points + 1] = c; ids[#ids + 1] = k - 1 end
  end
  local P = #points
  local xy, presence, pattern = {}, {}, {}
  for b = 1, n do
    xy[b], presence[b], pattern[b] = {}, {}, {}
    local first = 1
    for k, name in ipairs(opts.patterns) do
      -- one transformation per pattern and example: row vector [x y 1] times
      -- [[s cos, s sin, 0], [-s sin, s cos, 0], [tx / s, ty / s, 1]] (the official code's)
      local degree = (gen:uniform() - 0.5) * 2 * math.pi * opts.rotation_percent
      local scale = 1 + gen:uniform() * opts.max_upscale
      local tx, ty = gen:uniform() * 24 * opts.max_translation, gen:uniform() * 24 * opts.max_translation
      local present = gen:uniform() < 1 - opts.drop_prob and 1 or 0
      local c, s = math.cos(degree) * scale, math.sin(degree) * scale
      for i = first, first + #constellation.PATTERNS[name] - 1 do
        local x, y = points[i][1], points[i][2]
        xy[b][i] = {x * c - y * s + tx / scale, x * s + y * c + ty / scale}
        presence[b][i], pattern[b][i] = present, k - 1
      end
      first = first + #constellation.PATTERNS[name]
    end
    if opts.shuffle then
      local order = gen:permutation(P)
      local x2, p2, i2 = {}, {}, {}
      for i = 1, P do
        local j = math.tointeger(order:get(i)) + 1
        x2[i], p2[i], i2[i] = xy[b][j], presence[b][j], pattern[b][j]
      end
      xy[b], presence[b], pattern[b] = x2, p2, i2
    end
  end
  -- noise, then the whole batch into [-1, 1] with one min and max (as the official code)
  local lo, hi = math.huge, -math.huge
  for b = 1, n do
    for i = 1, P do
      for d = 1, 2 do
        if opts.noise > 0 then xy[b][i][d] = xy[b][i][d] + opts.noise * gen:normal() end
        lo, hi = math.min(lo, xy[b][i][d]), math.max(hi, xy[b][i][d])
      end
    end
  end
  local corners, pres, pat = native.zeros(n, P, 2), native.zeros(n, P), native.zeros(n, P)
  for b = 1, n do
    for i = 1, P do
      for d = 1, 2 do corners:set(b, i, d, (xy[b][i][d] - lo) / (hi - lo + 1e-8) * 2 - 1) end
      pres:set(b, i, presence[b][i])
      pat:set(b, i, pattern[b][i])
    end
  end
  return {corners = corners, presence = pres, pattern = pat, points = P, pattern_of_point = ids}
end

return constellation
