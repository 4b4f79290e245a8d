--- MatrixCapsNet(opts): matrix capsules with EM routing (Hinton, Sabour &
-- Frosst 2018, figure 1), built from the native layers; shapes follow from
-- the input. With the small model's defaults on a 28x28 image:
--   conv1     (b, 1, 28, 28) -> (b, A=64, 12, 12), 5x5 stride 2, ReLU
--   primary   -> (b, B=8, 12, 12, 17)          4x4 pose + activation per type
--   convcaps1 -> (b, C=16, 5, 5, 17)           3x3 stride 2, EM routing
--   convcaps2 -> (b, D=16, 3, 3, 17)           3x3 stride 1, EM routing
--   classcaps -> (b, classes, 1, 1, 17)        shared matrices, coordinate addition
-- capsrun.matcaps.MatActivations gives the class scores (activations).
-- Options (defaults): input {1, 28, 28}, classes 10, A 64, B 8, C 16, D 16,
-- conv_kernel 5, conv_stride 2, routing_iters 3 (every EM layer's
-- routing_iters field may be changed later), final_lambda 1, var_eps 1e-4,
-- e_temperature 1 (the paper; docs/em.md), e_temperature_final (the same:
-- with another value, set_progress anneals the temperature to it), gen.
local Sequential = require "capsrun.Sequential"
local layers = require "capsrun.layers"
local matcaps = require "capsrun.matcaps"
local random = require "capsrun.random"

local MatrixCapsNet = {}

local function out_size(layer, n, kernel, stride)
  if n < kernel then
    error(("MatrixCapsNet: the %s layer needs a grid of at least %d, got %d (use larger images, or --resize)")
      :format(layer, kernel, n), 0)
  end
  return (n - kernel) // stride + 1
end

--- config(opts) -> the full configuration, with the grid sizes that follow
function MatrixCapsNet.config(opts)
  opts = opts or {}
  local c = {input = opts.input or {1, 28, 28}, classes = opts.classes or 10, A = opts.A or 64, B = opts.B or 8,
    C = opts.C or 16, D = opts.D or 16, conv_kernel = opts.conv_kernel or 5, conv_stride = opts.conv_stride or 2,
    routing_iters = opts.routing_iters or 3, final_lambda = opts.final_lambda or 1.0, var_eps = opts.var_eps or 1e-4,
    e_temperature = opts.e_temperature or 1.0}
  c.e_temperature_final = opts.e_temperature_final or c.e_temperature
  c.grid = {}
  for k, n in ipairs{c.input[2], c.input[3]} do
    local g1 = out_size("conv1", n, c.conv_kernel, c.conv_stride)
    local g2 = out_size("convcaps1", g1, 3, 2)
    c.grid[k] = {g1, g2, out_size("convcaps2", g2, 3, 1)}
  end
  return c
end

function MatrixCapsNet.new(opts)
  opts = opts or {}
  local gen = opts.gen or random.default()
  local c = MatrixCapsNet.config(opts)
  local routing = {final_lambda = c.final_lambda, var_eps = c.var_eps, e_temperature = c.e_temperature}
  local model = Sequential.new()
  model.conv1 = layers.Conv2d.new(c.input[1], c.A, c.conv_kernel, c.conv_stride, 0, gen)
  model.conv1.need_grad_input = false   -- nothing below the first layer
  model.primary = matcaps.PrimaryMatCaps.new(c.A, c.B, gen)
  model.convcaps1 = matcaps.ConvCaps.new(c.B, c.C, 3, 2, c.routing_iters, gen, routing)
  model.convcaps2 = matcaps.ConvCaps.new(c.C, c.D, 3, 1, c.routing_iters, gen, routing)
  model.classcaps = matcaps.ClassCaps.new(c.D, c.classes, c.routing_iters, gen, routing)
  model:add(model.conv1):add(layers.ReLU.new()):add(model.primary):add(model.convcaps1)
    :add(model.convcaps2):add(model.classcaps)
  model.config, model.kind = c, "em"
  --- set_routing_iters(n): the same count for every EM layer
  function model:set_routing_iters(n)
    for _, m in ipairs{self.convcaps1, self.convcaps2, self.classcaps} do m.routing_iters = n end
    self.config.routing_iters = n
  end
  model.calibrate = MatrixCapsNet.calibrate
  model.set_progress = MatrixCapsNet.set_progress
  return model
end

--- model:set_progress(f): f in [0, 1] of the annealing done. The E-step
-- temperature moves geometrically from e_temperature (f = 0) to
-- e_temperature_final (f >= 1) in every EM layer: a soft E-step lets three
-- iterations start learning, the final one is the paper's (docs/em.md).
-- Without annealing (the two equal) the layers' fields are left alone.
function MatrixCapsNet.set_progress(model, f)
  local c = model.config
  if c.e_temperature_final == c.e_temperature then return end
  f = math.min(math.max(f, 0), 1)
  local t = c.e_temperature ^ (1 - f) * c.e_temperature_final ^ f
  for _, m in ipairs{model.convcaps1, model.convcaps2, model.classcaps} do m.e_temperature = t end
end

-- the data-weighted mean over samples and positions of sum_h log(var_h)/2
-- of each parent type in a layer's last EM iteration, over 16: (J) numbers.
-- Weighted by each parent's data as the cost is, so that parents with few
-- children (whose variances are tiny) do not set the level.
local function mean_half_log_var(layer)
  return require("capsrun.native").em_mean_half_log_var(layer.route_ws.stats, layer.routing_iters,
    layer.out_types):totable()
end

--- calibrate(model, images): sets beta_v of every EM layer, in order, so
-- that on these images the costs of each type sum to zero, and beta_a
-- to zero: at the start of training about half of the capsules of each
-- layer are active, as the authors initialised (docs/em.md). Returns the
-- mean activation of each layer after calibration.
function MatrixCapsNet.calibrate(model, images)
  local native = require "capsrun.native"
  local means = {}
  for _, layer in ipairs{model.convcaps1, model.convcaps2, model.classcaps} do
    model:forward(images)
    local m = mean_half_log_var(layer)
    layer.beta_a:fill_(0)
    for j = 1, layer.out_types do layer.beta_v:set(j, -m[j]) end
  end
  model:forward(images)
  for k, layer in ipairs{model.convcaps1, model.convcaps2, model.classcaps} do
    local _, act = native.matcaps_unpack(layer.output, {})
    means[k] = act:mean()
  end
  return means
end

return MatrixCapsNet
