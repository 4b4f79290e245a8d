-- native.sobel_target: the official SCAE's edge target for natural images
-- (preprocess.normalized_sobel_edges), against a hand-made edge and a plain
-- Lua rendering of TensorFlow's sobel_edges (reflect padding) and
-- tfp.stats.percentile's median ('nearest': index round((n - 1) / 2), ties to even).
local capsrun = require "capsrun"
local T = capsrun.native

-- the reference, one plane at a time, in float64
local function reference(x)
  local out = T.zeros(x:size())
  local nd = #x:size()
  local h, w = x:size(nd - 1), x:size(nd)
  local planes = x:numel() // (h * w)
  local flat, oflat = x:view(planes, h, w), out:view(planes, h, w)
  local function refl(i, n) if i < 1 then return 2 - i elseif i > n then return 2 * n - i else return i end end
  local ky = {{-1, -2, -1}, {0, 0, 0}, {1, 2, 1}}
  for p = 1, planes do
    local s, sorted = {}, {}
    for y = 1, h do for xx = 1, w do
      local v = 0
      for a = 1, 3 do for b = 1, 3 do
        v = v + (ky[a][b] + ky[b][a]) * flat:get(p, refl(y + a - 2, h), refl(xx + b - 2, w))
      end end
      s[#s + 1] = v
      sorted[#sorted + 1] = v
    end end
    table.sort(sorted)
    local idx = (#s - 1) / 2
    if idx % 1 == 0.5 then idx = math.floor(idx) % 2 == 0 and math.floor(idx) or math.ceil(idx) end   -- ties to even
    local med = sorted[math.tointeger(idx) + 1]
    local lo, hi = math.huge, -math.huge
    for i, v in ipairs(s) do s[i] = math.abs(v - med); lo = math.min(lo, s[i]); hi = math.max(hi, s[i]) end
    for i, v in ipairs(s) do oflat:set(p, (i - 1) // w + 1, (i - 1) % w + 1, (v - lo) / (hi - lo + 1e-8)) end
  end
  return out
end

local function max_abs_diff(a, b)
  local m = 0
  local fa, fb = a:view(a:numel()), b:view(b:numel())
  for i = 1, a:numel() do m = math.max(m, math.abs(fa:get(i) - fb:get(i))) end
  return m
end

local function range(a)
  local lo, hi, f = math.huge, -math.huge, a:view(a:numel())
  for i = 1, a:numel() do lo = math.min(lo, f:get(i)); hi = math.max(hi, f:get(i)) end
  return lo, hi
end

describe("native.sobel_target", function()
  it("marks a vertical edge on both of its sides, a constant background black", function()
    local x = T.zeros(1, 1, 4, 5)
    for y = 1, 4 do for c = 3, 5 do x:set(1, 1, y, c, 0.8) end end
    local s = T.sobel_target(x)
    for y = 1, 4 do
      for c = 1, 5 do assert.near((c == 2 or c == 3) and 1 or 0, s:get(1, 1, y, c), 1e-6) end
    end
    -- a constant image has no edges: all zero, not NaN
    local flat = T.sobel_target(T.zeros(2, 3, 3):fill_(0.5))
    assert.same({0, 0}, {range(flat)})
  end)

  it("equals TensorFlow's recipe on random planes of odd and even sizes, each plane apart", function()
    local g = T.generator(3)
    for _, shape in ipairs{{2, 3, 7, 9}, {3, 6, 4}, {1, 1, 3, 3}, {2, 1, 40, 40}} do
      local x = T.zeros(table.unpack(shape)):uniform_(g)
      local got, want = T.sobel_target(x), reference(x)
      local d = max_abs_diff(got, want)
      assert.is_true(d < 1e-5, ("%s: %g"):format(table.concat(shape, "x"), d))
      local lo, hi = range(got)
      assert.near(0, lo, 1e-6)
      assert.near(1, hi, 1e-6)
    end
  end)

  it("writes into the given output, reusing its memory", function()
    local x = T.zeros(2, 1, 6, 6):uniform_(T.generator(4))
    local out = T.zeros(2, 1, 6, 6)
    assert.equal(out, T.sobel_target(x, out))
    assert.equal(0, max_abs_diff(out, T.sobel_target(x)))
  end)

  it("refuses what it cannot filter, naming the argument", function()
    assert.has_error(function() T.sobel_target(T.zeros(4, 4)) end,
      "bad argument #1 to 'sobel_target' (non-empty images (n, h, w) or (n, channels, h, w) expected)")
    assert.has_error(function() T.sobel_target(T.zeros(2, 1, 5)) end,
      "bad argument #1 to 'sobel_target' (images of at least 2x2 pixels expected (reflect padding))")
    local nan = T.zeros(1, 3, 3)
    nan:set(1, 2, 2, 0 / 0)
    assert.has_error(function() T.sobel_target(nan) end, "bad argument #1 to 'sobel_target' (finite pixel values expected)")
    local x = T.zeros(1, 3, 3)
    assert.has_error(function() T.sobel_target(x, x) end,
      "bad argument #2 to 'sobel_target' (an output apart from the images expected)")
    assert.has_error(function() T.sobel_target(x, "out") end)
  end)
end)
