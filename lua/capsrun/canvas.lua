--- Digits placed on larger canvases, generated on the fly and seeded: the
-- data of the paper's two robustness experiments.
--   shifted(images, size, max_shift, gen) -> each 28x28 digit centred on a
--     size x size canvas and moved by a random whole (dy, dx) in
--     [-max_shift, max_shift] (expanded MNIST: 40, 6; MultiMNIST: 36, 4)
--   multimnist(set, n, gen) -> n overlapping pairs of digits of different
--     classes, merged as min(a + b, 1), with both labels and both digits
--   affine(images, gen [, ranges]) -> each digit on a 40x40 canvas under a
--     random rotation, shear, scale and translation (affNIST's ranges)
-- Images are (n, c, h, w) in [0, 1] (every channel moves alike); resampling is native.affine_warp.
local native = require "capsrun.native"

local canvas = {}

-- (n, 6) inverse transformations from a list of {m0, ..., m5}
local function matrices(list)
  local m = native.zeros(#list, 6)
  for i, t in ipairs(list) do for k = 1, 6 do m:set(i, k, t[k]) end end
  return m
end

-- a uniform integer in [-k, k]
local function offset(gen, k) return gen:random(2 * k + 1) - k - 1 end

--- shifted(images, size, max_shift, gen) -> canvases (n, c, size, size), shifts {{dy, dx}, ...}
function canvas.shifted(images, size, max_shift, gen)
  local n, h, w = images:size(1), images:size(3), images:size(4)
  local pad_y, pad_x = (size - h) // 2, (size - w) // 2
  if max_shift > pad_y or max_shift > pad_x then
    error(("canvas.shifted: shifts of %d pixels leave a %dx%d digit on a %d canvas"):format(max_shift, h, w, size), 2)
  end
  local list, shifts = {}, {}
  for i = 1, n do
    local dy, dx = offset(gen, max_shift), offset(gen, max_shift)
    shifts[i] = {dy, dx}
    list[i] = {1, 0, -(pad_x + dx), 0, 1, -(pad_y + dy)}   -- output x reads input x - (pad + dx)
  end
  return native.affine_warp(images, size, size, matrices(list)), shifts
end

--- multimnist(set, n, gen [, size 36, max_shift 4]) -> {images = merged (n, 1, size, size),
-- labels = (n, 2), first = (n, 1, size, size), second = ..., n}: as the
-- official code (mnist_shift.py): each digit shifted on its own, paired with
-- a digit of a different class, merged as min(a + b, 1)
function canvas.multimnist(set, n, gen, size, max_shift)
  size, max_shift = size or 36, max_shift or 4
  local a_idx, b_idx, labels = native.zeros(n), native.zeros(n), native.zeros(n, 2)
  for i = 1, n do
    local a = gen:random(set.n) - 1
    local b
    repeat b = gen:random(set.n) - 1 until set.labels:get(b + 1) ~= set.labels:get(a + 1)
    a_idx:set(i, a); b_idx:set(i, b)
    labels:set(i, 1, set.labels:get(a + 1)); labels:set(i, 2, set.labels:get(b + 1))
  end
  local first = canvas.shifted(native.index_select(set.images, a_idx), size, max_shift, gen)
  local second = canvas.shifted(native.index_select(set.images, b_idx), size, max_shift, gen)
  local merged = (first + second):clamp_(0, 1)
  return {images = merged, labels = labels, first = first, second = second, n = n}
end

--- affNIST's ranges (https://www.cs.toronto.edu/~tijmen/affNIST/): rotation
-- up to 20 degrees either way, shear up to 0.2 either way, horizontal and
-- vertical scale 0.8 to 1.2 each, translation anywhere that keeps the digit
-- on the 40x40 canvas
canvas.AFFNIST = {rotation = 20, shear = 0.2, scale = {0.8, 1.2}, size = 40}

local function uniform(gen, lo, hi) return lo + (hi - lo) * gen:uniform() end

-- the ink's corners of image i (pixels above 0.1), relative to the frame's centre
local function ink_box(images, i, h, w)
  local top, bottom, left, right = h, -1, w, -1
  local img = native.narrow(images, i, 1):reshape(h, w)
  for y = 1, h do
    for x = 1, w do
      if img:get(y, x) > 0.1 then
        top, bottom = math.min(top, y - 1), math.max(bottom, y)
        left, right = math.min(left, x - 1), math.max(right, x)
      end
    end
  end
  if bottom < 0 then top, bottom, left, right = 0, h, 0, w end
  local cy, cx = h / 2, w / 2
  return {{left - cx, top - cy}, {right - cx, top - cy}, {left - cx, bottom - cy}, {right - cx, bottom - cy}}
end

--- affine(images, gen [, ranges]) -> canvases (n, 1, size, size), params {{rotation
-- (degrees), shear, sx, sy, tx, ty}, ...}: A = R(rotation) Shear(shear) Scale(sx, sy)
-- applied about the digit frame's centre, then moved to the canvas centre + (tx, ty)
function canvas.affine(images, gen, ranges)
  ranges = ranges or canvas.AFFNIST
  local n, h, w, size = images:size(1), images:size(3), images:size(4), ranges.size
  local list, params = {}, {}
  for i = 1, n do
    local deg = uniform(gen, -ranges.rotation, ranges.rotation)
    local sh = uniform(gen, -ranges.shear, ranges.shear)
    local sx, sy = uniform(gen, ranges.scale[1], ranges.scale[2]), uniform(gen, ranges.scale[1], ranges.scale[2])
    local r = math.rad(deg)
    local c, s = math.cos(r), math.sin(r)
    -- A = R * [[1, sh], [0, 1]] * diag(sx, sy)
    local a, b = c * sx, (c * sh - s) * sy
    local d, e = s * sx, (s * sh + c) * sy
    -- where the ink lands around the canvas centre, to choose a translation that keeps it inside
    local xmin, xmax, ymin, ymax = math.huge, -math.huge, math.huge, -math.huge
    for _, p in ipairs(ink_box(images, i, h, w)) do
      local x, y = a * p[1] + b * p[2], d * p[1] + e * p[2]
      xmin, xmax, ymin, ymax = math.min(xmin, x), math.max(xmax, x), math.min(ymin, y), math.max(ymax, y)
    end
    local half = size / 2
    local tx = uniform(gen, math.min(0, -half - xmin), math.max(0, half - xmax))
    local ty = uniform(gen, math.min(0, -half - ymin), math.max(0, half - ymax))
    -- inverse: input = A^-1 (output - (half + t)) + frame centre
    local det = a * e - b * d
    local ia, ib, id, ie = e / det, -b / det, -d / det, a / det
    local ox, oy = half + tx, half + ty
    list[i] = {ia, ib, w / 2 - ia * ox - ib * oy, id, ie, h / 2 - id * ox - ie * oy}
    params[i] = {deg, sh, sx, sy, tx, ty}
  end
  return native.affine_warp(images, size, size, matrices(list)), params
end

--- affine_test_set(set, seed) -> {images (n, 1, 40, 40), labels, n, params}:
-- the affine test set that affine.lua measures for --affine-seed seed (its
-- generator is seed + 1; seed itself shifts the expanded test digits), so
-- that every script that names the seed sees the same digits
function canvas.affine_test_set(set, seed)
  local images, params = canvas.affine(set.images, native.generator(seed + 1))
  return {images = images, labels = set.labels, n = set.n, params = params}
end

--- by_transform(params, right [, ranges]) -> {{kind, lo, hi, n, right, open}, ...}:
-- how many of the affine digits whose transform falls in each range are
-- right (right[i] true), for each kind of transform: |rotation| in degrees,
-- |shear|, the smaller of the two scales, the larger of |tx| and |ty| in
-- pixels; four equal ranges of ranges' (affNIST's) bounds each (translation:
-- 2 pixels wide, the last open). A value on a bound falls in the range above
-- it, the top bound in the last range. Where a model's robustness breaks
-- shows as a falling column.
function canvas.by_transform(params, right, ranges)
  ranges = ranges or canvas.AFFNIST
  local kinds = {
    {"rotation (deg)", 0, ranges.rotation, function(p) return math.abs(p[1]) end},
    {"shear", 0, ranges.shear, function(p) return math.abs(p[2]) end},
    {"smaller scale", ranges.scale[1], ranges.scale[2], function(p) return math.min(p[3], p[4]) end},
    {"translation (px)", 0, 8, function(p) return math.max(math.abs(p[5]), math.abs(p[6])) end, open = true},
  }
  local rows = {}
  for _, k in ipairs(kinds) do
    local name, lo, hi, value = k[1], k[2], k[3], k[4]
    local width = (hi - lo) / 4
    local first = #rows
    for b = 1, 4 do
      rows[first + b] = {kind = name, lo = lo + (b - 1) * width, hi = b == 4 and not k.open and hi or lo + b * width,
        n = 0, right = 0, open = b == 4 and k.open or nil}
    end
    for i, p in ipairs(params) do
      local b = math.floor((value(p) - lo) / width) + 1
      b = math.max(1, math.min(4, b))
      local row = rows[first + b]
      row.n = row.n + 1
      if right[i] then row.right = row.right + 1 end
    end
  end
  return rows
end

--- top2_correct(lengths (n, J), labels (n, 2)) -> how many samples have their two
-- longest capsules on exactly their two labels ("both correct")
function canvas.top2_correct(lengths, labels)
  local n, J = lengths:size(1), lengths:size(2)
  local count = 0
  for i = 1, n do
    local best, second = 1, nil
    for j = 2, J do
      local v = lengths:get(i, j)
      if v > lengths:get(i, best) then best, second = j, best
      elseif not second or v > lengths:get(i, second) then second = j end
    end
    local a, b = labels:get(i, 1) + 1, labels:get(i, 2) + 1
    if (best == a and second == b) or (best == b and second == a) then count = count + 1 end
  end
  return count
end

return canvas
