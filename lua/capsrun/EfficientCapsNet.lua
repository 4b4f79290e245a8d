--- EfficientCapsNet(opts): Mazzia, Salvetti & Chiaberge (2021),
-- "Efficient-CapsNet: capsule network with self-attention routing", as its
-- official Keras code builds the MNIST model (161,824 parameters on 28x28):
--   conv 32@5x5, 64@3x3, 64@3x3, 128@3x3 stride 2, each ReLU then batch norm
--   primary capsules: a depthwise convolution whose kernel covers the whole
--     last feature map (9x9 on MNIST), 128 maps -> 16 capsules of 8, squashed
--     with (1 - e^-|s|) s/|s|
--   FCCaps: predictions W_ij u_i, self-attention routing (capsrun.routing
--     "self-attention") with its learned bias -> classes x 16
-- The class scores are the capsule lengths (margin loss), as CapsNet's.
-- Options (defaults): input {1, 28, 28}, classes 10, gen. Any input size
-- works: the depthwise kernel follows the last feature map.
local native = require "capsrun.native"
local random = require "capsrun.random"
local Sequential = require "capsrun.Sequential"
local layers = require "capsrun.layers"
local TapeModule = require "capsrun.TapeModule"
local BatchNorm = require "capsrun.BatchNorm"
local RoutedCaps = require "capsrun.RoutedCaps"
local self_attention = require "capsrun.routing.self_attention"

local EfficientCapsNet = {}

--- DepthwiseCaps(channels, side, caps, dim [, gen]): one side x side filter
-- per channel over a (b, channels, side, side) map, plus a bias: channels
-- values, regrouped into caps capsules of dim and squashed as Efficient-CapsNet.
local DepthwiseCaps = TapeModule.class("DepthwiseCaps")
EfficientCapsNet.DepthwiseCaps = DepthwiseCaps

function DepthwiseCaps.new(channels, side, caps, dim, gen)
  if caps * dim ~= channels then
    error(("DepthwiseCaps: %d capsules of %d values need %d channels, got %d"):format(caps, dim, caps * dim, channels), 2)
  end
  local self = TapeModule.new(DepthwiseCaps)
  self.channels, self.side, self.caps, self.dim = channels, side, caps, dim
  local std = math.sqrt(2 / (side * side))   -- he_normal over one channel's window
  self:add_parameter("weight", native.zeros(channels, side * side):normal_(gen or random.default(), 0, std))
  self:add_parameter("bias", native.zeros(channels))
  return self
end

function DepthwiseCaps:compute(x, p)
  local B = x:size(1)
  local s = (x:reshape(B, self.channels, self.side * self.side) * p.weight):sum(3) + p.bias   -- (B, channels)
  return self_attention.squash(s:reshape(B, self.caps, self.dim))
end

function DepthwiseCaps:describe()
  return ("DepthwiseCaps(%d maps of %dx%d -> %d x %dD)"):format(self.channels, self.side, self.side, self.caps, self.dim)
end

local function conv_out(name, size, kernel, stride)
  local out = (size - kernel) // stride + 1
  if out < 1 then
    error(("EfficientCapsNet: the %s layer needs inputs of at least %d pixels, got %d (--resize)"):format(name,
      kernel, size), 3)
  end
  return out
end

function EfficientCapsNet.new(opts)
  opts = opts or {}
  local gen = opts.gen or random.default()
  local input, classes = opts.input or {1, 28, 28}, opts.classes or 10
  local model = Sequential.new()
  local h, w, c = input[2], input[3], input[1]
  for i, l in ipairs{{32, 5, 1}, {64, 3, 1}, {64, 3, 1}, {128, 3, 2}} do
    model:add(layers.Conv2d.new(c, l[1], l[2], l[3], 0, gen)):add(layers.ReLU.new()):add(BatchNorm.new(l[1]))
    h, w, c = conv_out("conv" .. i, h, l[2], l[3]), conv_out("conv" .. i, w, l[2], l[3]), l[1]
  end
  model.modules[1].need_grad_input = false   -- nothing below the first layer
  if h ~= w then error(("EfficientCapsNet: square feature maps expected, got %dx%d (--resize)"):format(h, w), 2) end
  model.primary = DepthwiseCaps.new(128, h, 16, 8, gen)
  model.digitcaps = RoutedCaps.new(16, 8, classes, 16, 1, gen, "self-attention")
  -- he_normal as Keras computes it for the official (classes, 16, 8, 16) weight: fan_in 8 * 16 * classes
  model.digitcaps.weight:normal_(gen, 0, math.sqrt(2 / (8 * 16 * classes)))
  model:add(model.primary):add(model.digitcaps)
  model.kind = "efficient"
  model.config = {input = input, classes = classes}
  return model
end

return EfficientCapsNet
