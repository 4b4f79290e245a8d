--- capsule_layer: the object capsules' decoder of the stacked capsule
-- autoencoders (the official capsule.py CapsuleLayer), shared by the
-- constellation model and the image model. Each of K capsules has its own
-- MLP (BatchMLP): features -> hidden ReLU -> caps_params, a 1 appended
-- (caps_exist), then -> hidden ReLU -> 6V + 6 + 1 + V + V outputs (no bias;
-- biases added to all groups but the first): the capsule-part relations'
-- dynamic part (6 per vote), the object-viewer relation (6), the capsule's
-- and each vote's presence logit and each vote's scale.
local native = require "capsrun.native"
local ag = require "capsrun.autograd"

local capsule_layer = {}

local function add_batch_linear(self, name, K, n_in, n_out, gen, bias)
  local bound = 1 / math.sqrt(n_in)
  self:add_parameter(name .. ".weight", native.zeros(K, n_in, n_out):uniform_(gen, -bound, bound))
  if bias then self:add_parameter(name .. ".bias", native.zeros(K, 1, n_out)) end   -- zeros, as Sonnet's
end

--- add_parameters(module, K capsules, V votes, n_features, caps_params, hidden, gen)
function capsule_layer.add_parameters(self, K, V, n_features, caps_params, hidden, gen)
  add_batch_linear(self, "mlp1", K, n_features, hidden, gen, true)
  add_batch_linear(self, "mlp2", K, hidden, caps_params, gen, true)
  add_batch_linear(self, "caps1", K, caps_params + 1, hidden, gen, true)
  add_batch_linear(self, "caps2", K, hidden, 6 * V + 6 + 1 + V + V, gen, false)
  self:add_parameter("bias.ccr", native.zeros(K, 1, 6))
  self:add_parameter("bias.pres_caps", native.zeros(K, 1, 1))
  self:add_parameter("bias.pres_vote", native.zeros(K, 1, V))
  self:add_parameter("bias.scale", native.zeros(K, 1, V))
  local bound = math.sqrt(6 / (K * V + 6))   -- glorot-uniform, TensorFlow's default for a variable
  self:add_parameter("cpr_static", native.zeros(K, 1, V, 6):uniform_(gen, -bound, bound))
end

-- (K, B, n) -> (K, B, m), capsule k through its own weights
local function batch_linear(p, name, x)
  local y = x:matmul(p[name .. ".weight"])
  return p[name .. ".bias"] and y + p[name .. ".bias"] or y
end

--- noisy(module, x Var, axis, width) -> x + uniform noise of +-width/2 while module trains (the
-- official 'uniform' noise_type), drawn from module.gen. Under data parallel (module.shard =
-- {first, n}: this rank's rows of a batch of n along axis) it is drawn for the whole batch and
-- the rank takes its rows, so ranks add what one process adds.
function capsule_layer.noisy(module, x, axis, width)
  if not module.training or width == 0 then return x end
  local size = x.value:size()
  local rows, shard = size[axis], module.shard
  if shard then size[axis] = shard.n end
  local noise = x.tape:constant(x.tape:scratch(table.unpack(size)):uniform_(module.gen, -0.5, 0.5):mul_(width))
  if shard and shard.n ~= rows then noise = noise:narrow(axis, shard.first + 1, rows) end
  return x + noise
end

--- batch_sum(x (B, ...) Var, shard) -> the sum over the batch axis 1 (the whole batch's under data
-- parallel: shard = {first, n}, nil in one process) and the batch's size
function capsule_layer.batch_sum(x, shard)
  local s = x:sum(1)
  if not shard then return s, x.value:size(1) end
  return ag.all_sum(s, shard.n / x.value:size(1)), shard.n
end

--- outputs(features (B, K, n_features) Var, p, V, module) -> each group, capsule-major:
-- cpr (K, B, V, 6: dynamic + static raw relations), dynamic (K, B, 6V), ccr (K, B, 6),
-- pres_caps (K, B, 1) and pres_vote (K, B, V) logits (with module.config.noise while
-- module trains, drawn from module.gen), scale (K, B, V)
function capsule_layer.outputs(features, p, V, module)
  local tape = features.tape
  local K, B = features.value:size(2), features.value:size(1)
  local h = features:permute({2, 1, 3})                                 -- (K, B, n_features)
  h = batch_linear(p, "mlp2", batch_linear(p, "mlp1", h):relu())        -- (K, B, caps_params)
  h = ag.cat({h, tape:constant(tape:scratch(K, B, 1):fill_(1))}, 3)      -- caps_exist
  local all = batch_linear(p, "caps2", batch_linear(p, "caps1", h):relu())   -- (K, B, n_outputs)
  local dynamic = all:narrow(3, 1, 6 * V)
  return {dynamic = dynamic, cpr = dynamic:reshape(K, B, V, 6) + p.cpr_static,
    ccr = all:narrow(3, 6 * V + 1, 6) + p["bias.ccr"],
    pres_caps = capsule_layer.noisy(module, all:narrow(3, 6 * V + 7, 1) + p["bias.pres_caps"], 2, module.config.noise),
    pres_vote = capsule_layer.noisy(module, all:narrow(3, 6 * V + 8, V) + p["bias.pres_vote"], 2, module.config.noise),
    scale = (all:narrow(3, 6 * V + 8 + V, V) + p["bias.scale"] + 0.5):softplus() + 1e-2}
end

--- prior_sparsity(caps_presence (B, K) Var, classes, within_constant [, shard]): the l2
-- prior of the paper: each example's presences summing to within_constant
-- (K / classes when nil), each capsule present in B / classes examples (of
-- the whole batch under data parallel: shard, see batch_sum)
function capsule_layer.prior_sparsity(caps_presence, classes, within_constant, shard)
  local B, K = caps_presence.value:size(1), caps_presence.value:size(2)
  local within = (caps_presence:sum(2) - (within_constant or K / classes)):pow(2):sum(1) * (1 / B)
  local per_capsule, n = capsule_layer.batch_sum(caps_presence, shard)
  local between = (per_capsule - n / classes):pow(2):sum(1) * (1 / K)
  return within, between
end

return capsule_layer
