--- CapsNet(opts): the Sabour, Frosst & Hinton (2017) classifier, built from
-- the native layers. Shapes follow from the input size; nothing is fixed:
--   conv1    (b, 1, 28, 28) -> (b, 256, 20, 20), ReLU
--   primary  -> (b, 32*6*6 = 1152, 8)
--   digits   -> (b, 10, 16)   (dynamic routing, model.digitcaps.routing_iters)
-- CapsNet.new(opts) -> a Sequential; model:forward(images) returns the digit capsules; capsrun.Length gives
-- the class scores. Options (defaults): input {1, 28, 28}, classes 10,
-- conv_channels 256, conv_kernel 9, primary_types 32, primary_dim 8,
-- primary_kernel 9, primary_stride 2, digit_dim 16, routing_iters 3, gen.
local Sequential = require "capsrun.Sequential"
local layers = require "capsrun.layers"
local capsules = require "capsrun.capsules"
local random = require "capsrun.random"

local function conv_out(size, kernel, stride)
  if size < kernel then
    error(("CapsNet: input of %d pixels is smaller than a %d-pixel kernel"):format(size, kernel), 3)
  end
  return (size - kernel) // stride + 1
end

local CapsNet = {}

function CapsNet.new(opts)
  opts = opts or {}
  local input = opts.input or {1, 28, 28}
  local gen = opts.gen or random.default()
  local c = {
    classes = opts.classes or 10, conv_channels = opts.conv_channels or 256,
    conv_kernel = opts.conv_kernel or 9, primary_types = opts.primary_types or 32,
    primary_dim = opts.primary_dim or 8, primary_kernel = opts.primary_kernel or 9,
    primary_stride = opts.primary_stride or 2, digit_dim = opts.digit_dim or 16,
    routing_iters = opts.routing_iters or 3,
  }
  local h1, w1 = conv_out(input[2], c.conv_kernel, 1), conv_out(input[3], c.conv_kernel, 1)
  local h2 = conv_out(h1, c.primary_kernel, c.primary_stride)
  local w2 = conv_out(w1, c.primary_kernel, c.primary_stride)
  local in_caps = c.primary_types * h2 * w2

  local model = Sequential.new()
  model.conv1 = layers.Conv2d.new(input[1], c.conv_channels, c.conv_kernel, 1, 0, gen)
  model.conv1.need_grad_input = false   -- nothing below the first layer
  model.primary = capsules.PrimaryCaps.new(c.conv_channels, c.primary_types, c.primary_dim,
    c.primary_kernel, c.primary_stride, gen)
  model.digitcaps = capsules.DigitCaps.new(in_caps, c.primary_dim, c.classes, c.digit_dim,
    c.routing_iters, gen)
  model:add(model.conv1):add(layers.ReLU.new()):add(model.primary):add(model.digitcaps)
  model.config = c
  model.config.input = input
  model.config.in_caps = in_caps
  return model
end

return CapsNet
