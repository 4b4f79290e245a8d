--- Models by name, as capsrun.data knows data sets: what `--model` offers.
-- A descriptor says what the model is called, how to build it from the
-- options and the data, the options it reads, its own training defaults, what
-- its output is, and how to rebuild it from a weights file's config. A new model is its file
-- plus one models.register call; every experiment that builds through
-- models.build then offers it.
--
--   models.register("mine", {name = "My capsules", kind = "mine",
--     build = function(opts, set, gen, extra) return require("mymodel").new{...} end,
--     from_config = function(c) return require("mymodel").new(c) end,
--     defaults = {lr = 1e-3}, describe = function(opts) return "3 layers" end})
local models = {}

local registry, order = {}, {}

--- register(key, descriptor): descriptor = {name, kind (the weights config's
-- kind), build(opts, set, gen, extra) -> model, from_config(config) -> model,
-- options() -> option specs (optional), defaults = {lr = ...} (optional),
-- describe(opts) -> the detail the run's header prints (optional),
-- output: "capsules" (class capsules whose lengths are the scores, which a
-- Decoder can reconstruct from: capsule_dim(model) says their size),
-- "logits" or "activations"}
function models.register(key, d)
  if type(key) ~= "string" or type(d) ~= "table" or type(d.build) ~= "function" or type(d.from_config) ~= "function" then
    error("models.register: a name and a descriptor with build and from_config expected", 2)
  end
  if not registry[key] then order[#order + 1] = key end
  d.key, d.kind, d.defaults = key, d.kind or key, d.defaults or {}
  registry[key] = d
end

--- names() -> the registered names, in registration order
function models.names()
  local out = {}
  for i, k in ipairs(order) do out[i] = k end
  return out
end

--- get(key) -> descriptor, or an error listing the known names
function models.get(key)
  local d = registry[key]
  if not d then
    error(("models: unknown model '%s' (known: %s)"):format(tostring(key), table.concat(order, ", ")), 2)
  end
  return d
end

--- for_kind(kind) -> the descriptor that saved weights of this kind ("capsnet" when none is given)
function models.for_kind(kind)
  for _, k in ipairs(order) do
    if registry[k].kind == (kind or "capsnet") then return registry[k] end
  end
  error(("models: weights of an unknown kind of model '%s' (known: %s)"):format(tostring(kind),
    table.concat(order, ", ")), 2)
end

--- option(default [, fits]) -> the --model option, offering every registered
-- model, or those for which fits(descriptor) is true (an experiment that
-- needs a decoder offers the models with output "capsules")
function models.option(default, fits)
  local help, names = {}, {}
  for _, k in ipairs(order) do
    if not fits or fits(registry[k]) then
      help[#help + 1] = ("%s (%s)"):format(k, registry[k].name)
      names[#names + 1] = k
    end
  end
  return {"model", "string", default or "capsnet", table.concat(help, ", "), choices = names}
end

--- options([first [, fits]]) -> the options in the list first, then the own
-- options of every registered model (for which fits(descriptor) is true)
-- not already there, each once, in registration order (first: an
-- experiment's own settings of a model option, affine.lua's --cnn-pool default)
function models.options(first, fits)
  local out, seen = {}, {}
  for _, o in ipairs(first or {}) do seen[o[1]] = true; out[#out + 1] = o end
  for _, k in ipairs(order) do
    local d = registry[k]
    for _, o in ipairs((not fits or fits(d)) and d.options and d.options() or {}) do
      if not seen[o[1]] then seen[o[1]] = true; out[#out + 1] = o end
    end
  end
  return out
end

--- build(opts, set, gen [, extra]) -> the model opts.model names, shaped by the data
function models.build(opts, set, gen, extra)
  return models.get(opts.model).build(opts, set, gen, extra)
end

local function experiment() return require "capsrun.experiment" end

models.register("capsnet", {
  name = "CapsNet", kind = "capsnet", output = "capsules",
  capsule_dim = function(model) return model.config.digit_dim end,
  build = function(opts, set, gen, extra) return experiment().capsnet(opts, set, gen, extra) end,
  from_config = function(c) return require("capsrun.CapsNet").new(c) end,
  options = function() return experiment().capsnet_options() end,
  describe = function(opts) return opts.routing_iters .. " iterations of " .. (opts.routing or "dynamic") .. " routing" end,
})
models.register("cnn", {
  name = "CNN baseline", kind = "cnn", output = "logits",
  build = function(opts, set, gen, extra) return experiment().cnn(opts, set, gen, extra and extra.input) end,
  from_config = function(c) return require("capsrun.CNNBaseline").new(c) end,
  options = function() return experiment().cnn_options("none") end,
  describe = function(opts) return "dropout " .. opts.dropout .. ", pooling " .. opts.cnn_pool end,
})
models.register("em", {
  name = "MatrixCapsNet (EM routing)", kind = "em", output = "activations",
  build = function(opts, set, gen) return experiment().matrix_capsnet(opts, set, gen) end,
  from_config = function(c)
    local m = require("capsrun.MatrixCapsNet").new(c)
    m:set_progress(1)   -- a trained model routes at its final E-step temperature
    return m
  end,
  options = function() return experiment().em_options() end,
  defaults = {lr = 5e-3},   -- docs/em.md's 99.40% recipe
  describe = function(opts) return ("A,B,C,D = %s, %d EM iterations"):format(opts.em_sizes, opts.em_iters) end,
})
models.register("efficient", {
  name = "Efficient-CapsNet", kind = "efficient", output = "capsules",
  capsule_dim = function() return 16 end,
  build = function(opts, set, gen) return experiment().efficient(opts, set, gen) end,
  from_config = function(c) return require("capsrun.EfficientCapsNet").new(c) end,
  describe = function() return "self-attention routing" end,
})

return models
