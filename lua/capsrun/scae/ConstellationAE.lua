--- ConstellationAE: the object capsule autoencoder on 2-D points, the
-- constellation model of Kosiorek et al. (2019) as the official code builds
-- it (models/constellation.py, capsule.py, configs/model_config.py), on the
-- tape. forward(points (B, M, 2), presence (B, M)) returns the loss (1,):
--   features  = SetTransformer(points)                     (B, K, 32)  K object capsules
--   per capsule k its own MLP (BatchMLP): 32 -> 128 ReLU -> 32 params, a 1
--     appended (caps_exist), then 33 -> 128 ReLU -> 6V + 6 + 1 + V + V (no bias;
--     biases added to all but the first group): the capsule-part deformations,
--     the object pose (ccr), the capsule's and each vote's presence logit and
--     each vote's scale
--   ccr: a similarity transform (scale sigmoid + 0.01, angle 2 pi theta,
--     translation tanh(5 t)); each vote is ccr applied to its part's
--     translation tanh(5 u) (u: dynamic + a learned static part, cpr_static)
--   presence of vote (k, v) = sigmoid(capsule logit) sigmoid(vote logit)
--     (logits with uniform noise of +-2 while training); its scale softplus(. + 0.5) + 0.01
--   log p(points) = sum over present points of log sum_kv pi_kv N(x | vote_kv, scale_kv)
--     with pi the normalised presences and a dummy component (log -2 log 10) for outliers
--   loss = -log p / B + 10 sparsity (each capsule's presence logit against
--     "wins more than one point") + 10 |deformations|^2 / 2B + the prior
--     sparsity (l2: capsule presences summing to K/2 per example, and each
--     capsule present in half of the batch)
-- After forward, self.result holds winner (B, M) capsule indices (0-based),
-- caps_presence (B, K), log_prob, each loss term, and the votes (B, K*V):
-- x, y, presence, scale (the tape's buffers: valid until the next forward).
local TapeModule = require "capsrun.TapeModule"
local SetTransformer = require "capsrun.scae.SetTransformer"
local random = require "capsrun.random"
local ag = require "capsrun.autograd"
local capsule_layer = require "capsrun.scae.capsule_layer"

local ConstellationAE = TapeModule.class("ConstellationAE")

local LOG_DUMMY = -2 * math.log(10)   -- the outlier component's log density and logit
local HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)

function ConstellationAE.new(opts)
  opts = opts or {}
  local self = TapeModule.new(ConstellationAE)
  local gen = opts.gen or random.default()
  local c = {capsules = opts.capsules or 3, votes = opts.votes or 4, caps_params = opts.caps_params or 32,
    mlp_hidden = opts.hidden or 128, dims = opts.dims or 128, layers = opts.layers or 4, heads = opts.heads or 4,
    noise = opts.noise or 4, sparsity_weight = opts.sparsity_weight or 10, dynamic_l2_weight = opts.dynamic_l2_weight or 10,
    prior_within = opts.prior_within or 1, prior_between = opts.prior_between or 1, classes = opts.classes or 2}
  self.config, self.kind = c, "constellation"
  self:add_child("encoder", SetTransformer.new{input = 2, dims = c.dims, out_dims = c.caps_params, outputs = c.capsules,
    layers = c.layers, heads = c.heads, gen = gen})
  local K, V = c.capsules, c.votes
  self.n_outputs = 6 * V + 6 + 1 + V + V
  capsule_layer.add_parameters(self, K, V, c.caps_params, c.caps_params, c.mlp_hidden, gen)
  self.gen = gen
  return self
end

-- the votes (B, K*V) x and y, their presence and scale, the capsule logits (B, K), the deformations
function ConstellationAE:votes(tape, features, p)
  local K, V = self.config.capsules, self.config.votes
  local B = features.value:size(1)
  local o = capsule_layer.outputs(features, p, V, self)
  local ccr, pres_caps, pres_vote, scale = o.ccr, o.pres_caps, o.pres_vote, o.scale
  -- the object's similarity transform, applied to each part's translation
  local s = ccr:narrow(3, 1, 1):sigmoid() + 1e-2
  local theta = ccr:narrow(3, 3, 1) * (2 * math.pi)
  local tx, ty = (ccr:narrow(3, 5, 1) * 5):tanh(), (ccr:narrow(3, 6, 1) * 5):tanh()
  local sc, ss = s * theta:cos(), s * theta:sin()                       -- (K, B, 1)
  local cpr = o.cpr
  local ux = (cpr:narrow(4, 5, 1) * 5):tanh():reshape(K, B, V)
  local uy = (cpr:narrow(4, 6, 1) * 5):tanh():reshape(K, B, V)
  local vx, vy = sc * ux - ss * uy + tx, ss * ux + sc * uy + ty         -- (K, B, V)
  local presence = pres_caps:sigmoid() * pres_vote:sigmoid()
  local function flat(t) return t:permute({2, 1, 3}):reshape(B, K * V) end
  return {x = flat(vx), y = flat(vy), presence = flat(presence), scale = flat(scale),
    caps_logit = pres_caps:reshape(K, B):transpose(1, 2), per_caps = presence, dynamic = o.dynamic}
end

-- log p(points) per example summed over present points; the posterior logits (B, M, KV+1)
local function likelihood(tape, v, points, presence)
  local B, M, KV = points.value:size(1), points.value:size(2), v.x.value:size(2)
  local function dim(d, mean)
    local z = (points:narrow(3, d, 1) - mean:reshape(B, 1, KV)) / v.scale:reshape(B, 1, KV)
    return z * z * -0.5
  end
  local logp = dim(1, v.x) + dim(2, v.y) - (v.scale:log() + HALF_LOG_2PI):reshape(B, 1, KV) * 2   -- (B, M, KV)
  local dummy = tape:scratch(B, M, 1):fill_(LOG_DUMMY)
  logp = ag.cat({logp, tape:constant(dummy)}, 3)
  local logits = ag.cat({(v.presence + 1e-16):log(), tape:constant(tape:scratch(B, 1):fill_(LOG_DUMMY))}, 2)
  local mixing = logits - logits:logsumexp(2, true)                          -- (B, KV+1)
  local posterior = mixing:reshape(B, 1, KV + 1) + logp                      -- (B, M, KV+1)
  local per_point = posterior:logsumexp(3) * tape:constant(presence)         -- (B, M)
  return per_point:sum(2), posterior
end

function ConstellationAE:compute(points, p, presence)
  local c, tape = self.config, points.tape
  local B, M = points.value:size(1), points.value:size(2)
  local K, V = c.capsules, c.votes
  presence = presence or tape:scratch(B, M):fill_(1)
  local features = self.encoder:compute(points, self.encoder:leaves(tape), presence)
  local v = self:votes(tape, features, p)
  local log_prob, posterior = likelihood(tape, v, points, presence)
  -- each point's winning vote (not the dummy), its capsule; wins per capsule
  local post = posterior.value
  local winner, wins = tape:scratch(B, M), tape:scratch(B, K):fill_(0)
  for b = 1, B do
    for m = 1, M do
      local best, at = -math.huge, 1
      for k = 1, K * V do
        local l = post:get(b, m, k)
        if l > best then best, at = l, k end
      end
      local cap = (at - 1) // V
      winner:set(b, m, cap)
      if presence:get(b, m) ~= 0 then wins:set(b, cap + 1, wins:get(b, cap + 1) + 1) end
    end
  end
  -- sparsity: a capsule's presence logit against "wins more than one point", where it wins any
  local active, any = tape:scratch(B, K), tape:scratch(B, K)
  for b = 1, B do for k = 1, K do
    local w = wins:get(b, k)
    active:set(b, k, w > 1 and 1 or 0)
    any:set(b, k, w > 0 and 1 or 0)
  end end
  local l = v.caps_logit
  local sparsity = ((l:softplus() - l * tape:constant(active)) * tape:constant(any)):sum(2):mean(1)
  local dynamic_l2 = (v.dynamic * v.dynamic):sum(3):sum(2):sum(1) * (0.5 / B)
  -- the prior sparsity, l2: presences summing to K / classes in each example, B / classes per capsule
  local caps_presence = v.per_caps:max(3):transpose(1, 2)                    -- (B, K)
  local within, between = capsule_layer.prior_sparsity(caps_presence, c.classes)
  local mean_log_prob = log_prob:mean(1)
  local loss = -mean_log_prob + sparsity * c.sparsity_weight + dynamic_l2 * c.dynamic_l2_weight
    + within * c.prior_within + between * c.prior_between
  local function scalar(t) return t.value:reshape(1):get(1) end   -- the reductions leave 0-D tensors
  self.result = {winner = winner, caps_presence = caps_presence.value, log_prob = scalar(mean_log_prob),
    sparsity = scalar(sparsity), dynamic_l2 = scalar(dynamic_l2), prior_within = scalar(within),
    prior_between = scalar(between), votes = {x = v.x.value, y = v.y.value, presence = v.presence.value,
    scale = v.scale.value}}
  return loss:reshape(1)
end


function ConstellationAE:describe()
  local c = self.config
  return ("ConstellationAE(%s -> %d object capsules of %d votes)"):format(self.encoder:describe(), c.capsules, c.votes)
end

return ConstellationAE
