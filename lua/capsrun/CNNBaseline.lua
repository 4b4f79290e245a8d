--- CNNBaseline.new(opts): the paper's convolutional baseline (Sabour et al.
-- 2017, section 5): three 5x5 convolutions, stride 1, padding 2, of 256, 256
-- and 128 channels with ReLU; fully connected layers of 328 and 192 with
-- ReLU; dropout; a linear layer to the class logits (softmax cross-entropy
-- in the criterion). 35.4M parameters at 28x28. Shapes follow the input:
--   conv1..3  (b, c, h, w) -> (b, 128, h, w)
--   fc        -> (b, 328) -> (b, 192) -> dropout -> (b, classes)
-- Options (defaults): input {1, 28, 28}, classes 10, channels {256, 256, 128},
-- kernel 5, hidden {328, 192}, dropout 0.5, gen.
local Sequential = require "capsrun.Sequential"
local layers = require "capsrun.layers"
local random = require "capsrun.random"

local CNNBaseline = {}

function CNNBaseline.new(opts)
  opts = opts or {}
  local input = opts.input or {1, 28, 28}
  local gen = opts.gen or random.default()
  local c = {
    classes = opts.classes or 10, channels = opts.channels or {256, 256, 128},
    kernel = opts.kernel or 5, hidden = opts.hidden or {328, 192}, dropout = opts.dropout or 0.5,
  }
  if c.kernel % 2 == 0 then error("CNNBaseline: an odd kernel expected (padding keeps the size), got " .. c.kernel, 2) end
  local model = Sequential.new()
  local width = input[1]
  for _, ch in ipairs(c.channels) do
    model:add(layers.Conv2d.new(width, ch, c.kernel, 1, c.kernel // 2, gen)):add(layers.ReLU.new())
    width = ch
  end
  model.modules[1].need_grad_input = false   -- nothing below the first layer
  model:add(layers.Flatten.new())
  width = width * input[2] * input[3]
  for _, h in ipairs(c.hidden) do
    model:add(layers.Linear.new(width, h, gen)):add(layers.ReLU.new())
    width = h
  end
  model:add(layers.Dropout.new(c.dropout, gen)):add(layers.Linear.new(width, c.classes, gen))
  model.config = c
  model.config.input = input
  model.kind = "cnn"
  return model
end

return CNNBaseline
