-- The robustness experiments' data: shifted canvases (expanded MNIST),
-- MultiMNIST pairs, affNIST-like affine sets; the affine resampler against
-- hand-computed pixels; the two-target margin loss and the top-2 metric.
local capsrun = require "capsrun"
local T = capsrun.native
local canvas = require "capsrun.canvas"

-- n 28x28 images, each a 4x6 block of ink at rows 13-16, columns 12-17, and label i-1 % 10
local function blocks(n)
  local images, labels = T.zeros(n, 1, 28, 28), T.zeros(n)
  for i = 1, n do
    for y = 13, 16 do for x = 12, 17 do images:set(i, 1, y, x, 0.5 + 0.05 * (i % 10)) end end
    labels:set(i, (i - 1) % 10)
  end
  return {images = images, labels = labels, n = n}
end

-- the ink's bounding box (1-based rows and columns) of image i
local function box(images, i)
  local h, w = images:size(3), images:size(4)
  local img = T.narrow(images, i, 1):reshape(h, w)
  local top, bottom, left, right = h + 1, 0, w + 1, 0
  for y = 1, h do for x = 1, w do
    if img:get(y, x) > 0.05 then
      top, bottom, left, right = math.min(top, y), math.max(bottom, y), math.min(left, x), math.max(right, x)
    end
  end end
  return top, bottom, left, right
end

describe("affine resampling", function()
  local img = T.new{{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}}
  it("is exact for the identity, a 90-degree rotation and a whole translation", function()
    assert.same({1, 2, 3, 4, 5, 6, 7, 8, 9}, T.affine_warp(img, 3, 3, T.new{{1, 0, 0, 0, 1, 0}}):view(-1):totable())
    -- output (x, y) reads input (y, 3 - x): the image turned a quarter clockwise
    assert.same({7, 4, 1, 8, 5, 2, 9, 6, 3}, T.affine_warp(img, 3, 3, T.new{{0, 1, 0, -1, 0, 3}}):view(-1):totable())
    assert.same({0, 1, 2, 0, 4, 5, 0, 7, 8}, T.affine_warp(img, 3, 3, T.new{{1, 0, -1, 0, 1, 0}}):view(-1):totable())
  end)
  it("interpolates between pixels bilinearly, and reads zeros outside", function()
    local half = T.affine_warp(img, 1, 2, T.new{{1, 0, 0.5, 0, 1, 0.5}})   -- centres at (1, 1) and (2, 1)
    assert.near((1 + 2 + 4 + 5) / 4, half:get(1, 1, 1, 1), 1e-6)
    assert.near((2 + 3 + 5 + 6) / 4, half:get(1, 1, 1, 2), 1e-6)
    assert.equal(0, T.affine_warp(img, 2, 2, T.new{{1, 0, 10, 0, 1, 10}}):sum())
    assert.error_matches(function() T.affine_warp(img, 2, 2, T.new{{0 / 0, 0, 0, 0, 1, 0}}) end, "finite")
  end)
end)

describe("canvases", function()
  it("shift each digit by a seeded whole offset within the range, measured", function()
    local set = blocks(300)
    local out, shifts = canvas.shifted(set.images, 40, 6, T.generator(1))
    local again = canvas.shifted(set.images, 40, 6, T.generator(1))
    assert.equal(0, (out - again):norm())
    local seen = {}
    for i = 1, 300 do
      local top, _, left = box(out, i)
      local dy, dx = top - (13 + 6), left - (12 + 6)        -- the block centred would start at (19, 18)
      assert.same({dy, dx}, shifts[i])
      assert.is_true(math.abs(dy) <= 6 and math.abs(dx) <= 6)
      seen[dy .. "," .. dx] = true
    end
    local kinds = 0
    for _ in pairs(seen) do kinds = kinds + 1 end
    assert.is_true(kinds > 100, kinds .. " distinct shifts")   -- of 169
    assert.is_true(out:min() >= 0 and out:max() <= 1)
  end)

  it("move every channel of a colour image alike", function()
    local grey = blocks(20).images                                       -- (20, 1, 28, 28)
    local colour = T.zeros(20, 3, 28, 28)
    local scales = {1, 0.5, 0.25}
    for i = 1, 20 do for c = 1, 3 do for y = 1, 28 do for x = 1, 28 do
      colour:set(i, c, y, x, grey:get(i, 1, y, x) * scales[c])
    end end end end
    local a = canvas.shifted(grey, 40, 6, T.generator(2))
    local b = canvas.shifted(colour, 40, 6, T.generator(2))
    assert.same({20, 3, 40, 40}, b:size())
    for i = 1, 20 do for c = 1, 3 do for y = 1, 40, 3 do for x = 1, 40, 3 do
      assert.near(a:get(i, 1, y, x) * scales[c], b:get(i, c, y, x), 1e-6)
    end end end end
  end)

  it("make MultiMNIST pairs of different classes, merged as min(a + b, 1), seeded", function()
    local set = blocks(50)
    local a = canvas.multimnist(set, 200, T.generator(5))
    local b = canvas.multimnist(set, 200, T.generator(5))
    assert.equal(0, (a.images - b.images):norm())
    assert.same({200, 1, 36, 36}, a.images:size())
    for i = 1, 200 do
      assert.are_not.equal(a.labels:get(i, 1), a.labels:get(i, 2))
      for _, img in ipairs{a.first, a.second} do
        local top, _, left = box(img, i)
        assert.is_true(math.abs(top - (13 + 4)) <= 4 and math.abs(left - (12 + 4)) <= 4)
      end
    end
    local sum = (a.first + a.second):clamp_(0, 1)
    assert.equal(0, (sum - a.images):norm())
    assert.is_true(a.images:min() >= 0 and a.images:max() <= 1)
  end)

  it("make affNIST-like digits within its ranges, all the ink on the 40x40 canvas", function()
    local set = blocks(100)
    local out, params = canvas.affine(set.images, T.generator(9))
    local again = canvas.affine(set.images, T.generator(9))
    assert.equal(0, (out - again):norm())
    local max_rot = 0
    for i = 1, 100 do
      local p = params[i]
      assert.is_true(math.abs(p[1]) <= 20 and math.abs(p[2]) <= 0.2)
      assert.is_true(p[3] >= 0.8 and p[3] <= 1.2 and p[4] >= 0.8 and p[4] <= 1.2)
      max_rot = math.max(max_rot, math.abs(p[1]))
      -- the ink's mass is kept: area scales by sx * sy; a pixel of margin for the blur at the edges
      local mass_in = T.narrow(set.images, i, 1):sum()
      local mass_out = T.narrow(out, i, 1):sum()
      assert.near(mass_in * p[3] * p[4], mass_out, 0.12 * mass_in)
      local top, bottom, left, right = box(out, i)
      assert.is_true(top >= 1 and left >= 1 and bottom <= 40 and right <= 40)
    end
    assert.is_true(max_rot > 15, "rotations reach toward 20 degrees")
    assert.is_true(out:min() >= 0 and out:max() <= 1.0001)
  end)
end)

describe("canvas.by_transform", function()
  it("counts right digits per range of each transform, bounds in the last range, by hand", function()
    -- {rotation, shear, sx, sy, tx, ty}
    local params = {
      {-3, 0.01, 0.85, 1.1, 0.5, -1},     -- rot [0,5), shear [0,.05), scale [.8,.9), trans [0,2)
      {7, -0.12, 1.2, 1.15, -3, 2},       -- rot [5,10), shear [.1,.15), scale [1.1,1.2], trans [2,4)
      {-20, 0.2, 0.95, 0.99, 7, 9.5},     -- rot [15,20] (bound), shear [.15,.2] (bound), [.9,1), trans >= 6
      {12.5, 0.05, 1.0, 1.05, 0, 5},      -- rot [10,15), shear [.05,.1), scale [1,1.1), trans [4,6)
    }
    local right = {true, false, true, false}
    local rows = canvas.by_transform(params, right)
    assert.equal(16, #rows)
    local function row(kind, b) local r = rows[(kind - 1) * 4 + b]; return {r.n, r.right} end
    assert.same({1, 1}, row(1, 1)); assert.same({1, 0}, row(1, 2)); assert.same({1, 0}, row(1, 3)); assert.same({1, 1}, row(1, 4))
    assert.same({1, 1}, row(2, 1)); assert.same({1, 0}, row(2, 2)); assert.same({1, 0}, row(2, 3)); assert.same({1, 1}, row(2, 4))
    assert.same({1, 1}, row(3, 1)); assert.same({1, 1}, row(3, 2)); assert.same({1, 0}, row(3, 3)); assert.same({1, 0}, row(3, 4))
    assert.same({1, 1}, row(4, 1)); assert.same({1, 0}, row(4, 2)); assert.same({1, 0}, row(4, 3)); assert.same({1, 1}, row(4, 4))
    assert.equal("rotation (deg)", rows[1].kind)
    assert.near(5, rows[1].hi, 1e-12); assert.near(20, rows[4].hi, 1e-12)
    assert.near(0.8, rows[9].lo, 1e-12); assert.near(0.9, rows[9].hi, 1e-12)
    assert.is_true(rows[16].open); assert.near(6, rows[16].lo, 1e-12)
  end)
end)

describe("two digits at once", function()
  it("the margin loss with both classes present, by hand", function()
    local crit = capsrun.MarginLoss.new()
    -- lengths 0.8 (class 0, present), 0.3 (class 1, present), 0.2 (class 2, absent)
    --   (0.9 - 0.8)^2 + (0.9 - 0.3)^2 + 0.5 * (0.2 - 0.1)^2 = 0.01 + 0.36 + 0.005
    local len, labels = T.new{{0.8, 0.3, 0.2}}, T.new{{0, 1}}
    assert.near(0.375, crit:forward(len, labels), 1e-6)
    local g = crit:backward(len, labels)
    assert.near(-2 * 0.1, g:get(1, 1), 1e-6); assert.near(-2 * 0.6, g:get(1, 2), 1e-6)
    assert.near(2 * 0.5 * 0.1, g:get(1, 3), 1e-6)
    assert.error_matches(function() crit:forward(len, T.new{{0, 3}}) end, "not a class in %[0, 2%]")
  end)

  it("counts both correct only when the two longest capsules are exactly the two labels", function()
    local lengths = T.new{{0.9, 0.8, 0.1, 0.2},   -- labels 0, 1: both right
                          {0.9, 0.1, 0.8, 0.2},   -- labels 0, 1: one wrong
                          {0.1, 0.7, 0.2, 0.9},   -- labels 3, 1 (order does not matter)
                          {0.5, 0.5, 0.5, 0.1}}   -- ties: the first two win; labels 2, 0 -> wrong
    local labels = T.new{{0, 1}, {0, 1}, {3, 1}, {2, 0}}
    assert.equal(2, canvas.top2_correct(lengths, labels))
  end)
end)
