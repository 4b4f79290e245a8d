--- Models by name, as capsrun.data knows data sets: what `--model` offers.
-- A descriptor says what the model is called, how to build it from the
-- options and the data, the options it reads, its own training defaults, and
-- how to rebuild it from a weights file's config. A new model is its file
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
-- describe(opts) -> the detail the run's header prints (optional)}
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

--- option(default) -> the --model option, offering every registered model
function models.option(default)
  local help = {}
  for _, k in ipairs(order) do help[#help + 1] = ("%s (%s)"):format(k, registry[k].name) end
  return {"model", "string", default or "capsnet", table.concat(help, ", "), choices = models.names()}
end

--- options() -> every registered model's own options, each once, in registration order
function models.options()
  local out, seen = {}, {}
  for _, k in ipairs(order) do
    for _, o in ipairs(registry[k].options and registry[k].options() or {}) do
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
  name = "CapsNet", kind = "capsnet",
  build = function(opts, set, gen, extra) return experiment().capsnet(opts, set, gen, extra) end,
  from_config = function(c) return require("capsrun.CapsNet").new(c) end,
  options = function() return experiment().capsnet_options() end,
  describe = function(opts) return opts.routing_iters .. " iterations of " .. (opts.routing or "dynamic") .. " routing" end,
})
models.register("cnn", {
  name = "CNN baseline", kind = "cnn",
  build = function(opts, set, gen, extra) return experiment().cnn(opts, set, gen, extra and extra.input) end,
  from_config = function(c) return require("capsrun.CNNBaseline").new(c) end,
  options = function() return experiment().cnn_options("none") end,
  describe = function(opts) return "dropout " .. opts.dropout .. ", pooling " .. opts.cnn_pool end,
})
models.register("em", {
  name = "MatrixCapsNet (EM routing)", kind = "em",
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
  name = "Efficient-CapsNet", kind = "efficient",
  build = function(opts, set, gen) return experiment().efficient(opts, set, gen) end,
  from_config = function(c) return require("capsrun.EfficientCapsNet").new(c) end,
  describe = function() return "self-attention routing" end,
})

return models
