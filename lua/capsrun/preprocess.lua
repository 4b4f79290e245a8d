--- Bringing a user's image to a model's input.
--   mnist_fit(img (h, w)) -> (28, 28): MNIST's own preprocessing (LeCun et
--     al.): the ink's bounding box scaled to fit 20x20 keeping its aspect
--     ratio, then placed so that its centre of mass is at the centre of 28x28
--   to_input(img, {c, h, w}, digits) -> (c, h, w), and a note saying what
--     was done
local native = require "capsrun.native"

local preprocess = {}

local INK = 0.1   -- a pixel above this is ink

local function crop(img, y0, x0, h, w)
  local out = native.zeros(h, w)
  for y = 1, h do for x = 1, w do out:set(y, x, img:get(y0 + y - 1, x0 + x - 1)) end end
  return out
end

function preprocess.mnist_fit(img)
  local h, w = img:size(1), img:size(2)
  local top, bottom, left, right = h + 1, 0, w + 1, 0
  for y = 1, h do
    for x = 1, w do
      if img:get(y, x) > INK then
        top, bottom = math.min(top, y), math.max(bottom, y)
        left, right = math.min(left, x), math.max(right, x)
      end
    end
  end
  if bottom == 0 then return native.resize_bilinear(img, 28, 28) end   -- no ink at all
  local bh, bw = bottom - top + 1, right - left + 1
  local scale = 20 / math.max(bh, bw)
  local nh, nw = math.max(1, math.floor(bh * scale + 0.5)), math.max(1, math.floor(bw * scale + 0.5))
  local patch = native.resize_bilinear(crop(img, top, left, bh, bw), nh, nw)
  -- centre of mass of the patch, in its own pixel coordinates (0-based centres)
  local mass, my, mx = 0, 0, 0
  for y = 1, nh do
    for x = 1, nw do
      local v = patch:get(y, x)
      mass, my, mx = mass + v, my + v * (y - 1), mx + v * (x - 1)
    end
  end
  my, mx = my / mass, mx / mass
  local oy = math.min(math.max(math.floor(13.5 - my + 0.5), 0), 28 - nh)
  local ox = math.min(math.max(math.floor(13.5 - mx + 0.5), 0), 28 - nw)
  local out = native.zeros(28, 28)
  for y = 1, nh do for x = 1, nw do out:set(oy + y, ox + x, patch:get(y, x)) end end
  return out
end

--- to_input(img, input, digits) -> (c, h, w) tensor, note. img: (h, w)
-- grey or (3, h, w) RGB, already in the model's channel count
function preprocess.to_input(img, input, digits)
  local c, h, w = input[1], input[2], input[3]
  local ih, iw = img:size(img:dim() - 1), img:size(img:dim())
  if digits and c == 1 and h == 28 and w == 28 then
    return preprocess.mnist_fit(img):reshape(1, 28, 28),
      ("MNIST preprocessing from %dx%d (ink fitted in 20x20, centred by mass)"):format(iw, ih)
  end
  if ih == h and iw == w then return img:reshape(c, h, w), "as it is" end
  return native.resize_bilinear(img, h, w):reshape(c, h, w), ("resized from %dx%d to %dx%d"):format(iw, ih, w, h)
end

return preprocess
