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

local CapsNet = {}

-- output side of a layer; an input too small for it is an error naming the layer
local function conv_out(layer, h, w, kernel, stride, hint)
  if h < kernel or w < kernel then
    error(("CapsNet: the %s layer needs inputs of at least %dx%d pixels, got %dx%d (%s)"):format(
      layer, kernel, kernel, h, w, hint), 0)
  end
  return (h - kernel) // stride + 1, (w - kernel) // stride + 1
end

--- config(opts) -> the full configuration, with defaults, and the sizes that
-- follow from the input: h1, w1 (conv1), h2, w2 (primary capsules), in_caps
function CapsNet.config(opts)
  opts = opts or {}
  local input = opts.input or {1, 28, 28}
  local c = {
    input = input, classes = opts.classes or 10, conv_channels = opts.conv_channels or 256,
    conv_kernel = opts.conv_kernel or 9, primary_types = opts.primary_types or 32,
    primary_dim = opts.primary_dim or 8, primary_kernel = opts.primary_kernel or 9,
    primary_stride = opts.primary_stride or 2, digit_dim = opts.digit_dim or 16,
    routing_iters = opts.routing_iters or 3, routing = opts.routing or "dynamic",
  }
  c.h1, c.w1 = conv_out("conv1", input[2], input[3], c.conv_kernel, 1, "a smaller --conv-kernel, or --resize")
  c.h2, c.w2 = conv_out("primary-capsule", c.h1, c.w1, c.primary_kernel, c.primary_stride,
    "a smaller --primary-kernel or --conv-kernel, or --resize")
  c.in_caps = c.primary_types * c.h2 * c.w2
  return c
end

function CapsNet.new(opts)
  opts = opts or {}
  local gen = opts.gen or random.default()
  local c = CapsNet.config(opts)
  local input, in_caps = c.input, c.in_caps

  local model = Sequential.new()
  model.conv1 = layers.Conv2d.new(input[1], c.conv_channels, c.conv_kernel, 1, 0, gen)
  model.conv1.need_grad_input = false   -- nothing below the first layer
  model.primary = capsules.PrimaryCaps.new(c.conv_channels, c.primary_types, c.primary_dim,
    c.primary_kernel, c.primary_stride, gen)
  if c.routing == "dynamic" then   -- the fused C kernel
    model.digitcaps = capsules.DigitCaps.new(in_caps, c.primary_dim, c.classes, c.digit_dim,
      c.routing_iters, gen)
  else                             -- a routing written in Lua (capsrun.routing)
    model.digitcaps = require("capsrun.RoutedCaps").new(in_caps, c.primary_dim, c.classes, c.digit_dim,
      c.routing_iters, gen, c.routing)
  end
  model:add(model.conv1):add(layers.ReLU.new()):add(model.primary):add(model.digitcaps)
  local entry = require("capsrun.routing")[c.routing]
  if type(entry) == "table" and entry.scores == "logits" then
    -- poses whose length says nothing (LayerNorm): a linear map gives the class scores
    model.pose_logits = require("capsrun.PoseLogits").new(c.digit_dim, gen)
    model:add(model.pose_logits)
    model.outputs = "logits"
  end
  model.config = c
  return model
end

return CapsNet
