--- CNNBaseline.new(opts): the paper's convolutional baseline (Sabour et al.
-- 2017, section 5): three 5x5 convolutions, stride 1, padding 2, of 256, 256
-- and 128 channels with ReLU; fully connected layers of 328 and 192 with
-- ReLU; dropout; a linear layer to the class logits (softmax cross-entropy
-- in the criterion). 35.4M parameters at 28x28. Shapes follow the input:
--   conv1..3  (b, c, h, w) -> (b, 128, h, w)
--   fc        -> (b, 328) -> (b, 192) -> dropout -> (b, classes)
-- Options (defaults): input {1, 28, 28}, classes 10, channels {256, 256, 128},
-- kernel 5, hidden {328, 192}, dropout 0.5, pool {} (none), gen.
-- pool {2, 2} puts a 2x2 max pooling (stride 2) after the first two
-- convolutions: the paper's affine-robustness baseline is "a traditional
-- convolutional network (with MaxPooling and DropOut)" (section 5.2), where
-- its MNIST and MultiMNIST baseline has none. Pooling also cuts the
-- arithmetic: at 40x40, {2, 2} costs about a fifth of no pooling.
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
    pool = opts.pool or {},
  }
  if c.kernel % 2 == 0 then error("CNNBaseline: an odd kernel expected (padding keeps the size), got " .. c.kernel, 2) end
  if type(c.pool) ~= "table" or #c.pool > #c.channels then
    error(("CNNBaseline: pool must be a list of at most %d pooling sizes (one per convolution), got %s")
      :format(#c.channels, type(c.pool) == "table" and #c.pool .. " sizes" or type(c.pool)), 2)
  end
  local model = Sequential.new()
  local width, h, w = input[1], input[2], input[3]
  for i, ch in ipairs(c.channels) do
    model:add(layers.Conv2d.new(width, ch, c.kernel, 1, c.kernel // 2, gen)):add(layers.ReLU.new())
    width = ch
    local p = c.pool[i] or 1
    if math.type(p) ~= "integer" or p < 1 then
      error(("CNNBaseline: pool[%d] must be a positive integer, got %s"):format(i, tostring(p)), 2)
    end
    if p > 1 then
      if h < p or w < p then
        error(("CNNBaseline: pool[%d] = %d does not fit the %dx%d maps after convolution %d"):format(i, p, h, w, i), 2)
      end
      model:add(layers.MaxPool2d.new(p))
      h, w = h // p, w // p
    end
  end
  model.modules[1].need_grad_input = false   -- nothing below the first layer
  model:add(layers.Flatten.new())
  width = width * h * w
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
