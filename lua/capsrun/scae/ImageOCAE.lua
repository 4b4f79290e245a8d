--- ImageOCAE: the object capsule autoencoder over part capsules (Kosiorek et
-- al. 2019, section 3.2; the official models/scae.py ImageCapsule with
-- capsule.py's CapsuleLayer and CapsuleLikelihood), on the tape.
-- forward(pose (B, P, 6), presence (B, P), features (B, P, F)[, templates
-- (P, T)[, colour (B, P) or (B, P, C)]]) returns the loss (1,): the part capsules' poses
-- (the PCAE's affine maps as rows a b tx c d ty), presences and special
-- features, and with templates = T (new) each part's template flattened,
-- scaled by its colour in each image when given (the official
-- feed_templates: the template tells the set transformer which part it
-- sees). The SCAE gives them as the PCAE's values, so no gradient flows
-- back into the PCAE (the stop-gradient of the paper and the official code).
--   features = SetTransformer([pose, 1 - presence, features, templates])   (B, K, 256)   K object capsules
--   capsule_layer: per capsule its own MLP -> the object-viewer relation
--     (an affine map, geometry.affine), a capsule-part relation per part
--     (dynamic + learned static), capsule and vote presence logits (uniform
--     noise of +-2 while training), vote scales softplus(. + 0.5) + 0.01
--   vote (k, j) = OV_k . OP_kj (3x3 product): capsule k's prediction of part j's pose
--   log p(part j) = log sum_k pi_kj N(pose_j | vote_kj, scale_kj^2 I6) + a dummy
--     (log 0.01) for parts no capsule explains, with pi_kj the vote's presence
--     itself (the official likelihood does not normalise it), weighted by
--     part j's presence
--   loss = -mean log p + 10 |dynamic relations|^2 / 2B
--        + prior sparsity (l2: capsule presences summing to 4.3 per example,
--          each capsule present in B / 10 examples), weights 2 and 0.35
--        + posterior sparsity (entropy: of each example's part mass per
--          capsule, minimised, weight 0.7; of the batch's, maximised, weight 0.2)
-- Under data parallel, self.shard = {first, n} (this rank's rows of a batch
-- of n; SCAE:set_shard) makes the noise and the batch-wide sparsity terms
-- those of the whole batch. After forward, self.result holds caps_presence (B, K: the capsule's largest
-- vote presence, what k-means clusters), mass (B, K: the part mass each
-- capsule explains), vote presences (B, K, P), the posterior logits (B,
-- K + 1, P: capsules, then the dummy), the votes as six (K, B, P) tensors
-- (a b tx c d ty: capsule k's prediction of part j's pose), log_prob and
-- each loss term (the tape's buffers: valid until the next forward).
local TapeModule = require "capsrun.TapeModule"
local SetTransformer = require "capsrun.scae.SetTransformer"
local capsule_layer = require "capsrun.scae.capsule_layer"
local geometry = require "capsrun.scae.geometry"
local random = require "capsrun.random"
local ag = require "capsrun.autograd"

--- ImageOCAE: the object capsule autoencoder over part capsules; forward(pose (B, P, 6),
-- presence (B, P), features (B, P, F)[, templates (P, T)[, colour (B, P)]]) -> loss (1,);
-- result.caps_presence (B, K)
local ImageOCAE = TapeModule.class("ImageOCAE")

local LOG_DUMMY = -2 * math.log(10)
local HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)

--- ImageOCAE.new{parts = 40, features = 16, capsules = 32, dims = 16, out_dims = 256, layers = 3,
--   heads = 1, caps_params = 32, hidden = 128, noise = 4, classes = 10, prior_within_constant = 4.3,
--   templates = 0 (values of a part's template given to the encoder: 0 for none),
--   posterior_mass = "presence" (the posterior sparsity's part mass weights each part by its presence;
--   "official": all parts alike, as the released code), ...}
function ImageOCAE.new(opts)
  opts = opts or {}
  local self = TapeModule.new(ImageOCAE)
  local gen = opts.gen or random.default()
  local c = {parts = opts.parts or 40, features = opts.features or 16, capsules = opts.capsules or 32,
    dims = opts.dims or 16, out_dims = opts.out_dims or 256, layers = opts.layers or 3, heads = opts.heads or 1,
    caps_params = opts.caps_params or 32, hidden = opts.hidden or 128, noise = opts.noise or 4,
    classes = opts.classes or 10, dynamic_l2_weight = opts.dynamic_l2_weight or 10,
    prior_within = opts.prior_within or 2, prior_between = opts.prior_between or 0.35,
    prior_within_constant = opts.prior_within_constant or 4.3,
    posterior_within = opts.posterior_within or 0.7, posterior_between = opts.posterior_between or 0.2,
    templates = opts.templates or 0, posterior_mass = opts.posterior_mass or "presence"}
  if c.posterior_mass ~= "presence" and c.posterior_mass ~= "official" then
    error(("ImageOCAE.new: posterior_mass 'presence' or 'official' expected, got '%s'"):format(
      tostring(c.posterior_mass)), 2)
  end
  for _, k in ipairs{"parts", "features", "capsules", "classes", "templates"} do
    if math.type(c[k]) ~= "integer" or c[k] < ((k == "features" or k == "templates") and 0 or 1) then
      error(("ImageOCAE.new: %s must be a positive integer, got %s"):format(k, tostring(c[k])), 2)
    end
  end
  self.config, self.kind = c, "image_ocae"
  self:add_child("encoder", SetTransformer.new{input = 7 + c.features + c.templates, dims = c.dims, out_dims = c.out_dims,
    outputs = c.capsules, layers = c.layers, heads = c.heads, gen = gen})
  capsule_layer.add_parameters(self, c.capsules, c.parts, c.out_dims, c.caps_params, c.hidden, gen)
  self.gen = gen
  return self
end

-- entropy along axis of x normalised along it (x >= 0)
local function entropy(x, axis)
  local q = x / (x:sum(axis, true) + 1e-8)
  return (q * (q + 1e-8):log()):sum(axis) * -1
end

local function check(name, t, want, level)
  local got = t:size()
  local ok = #got == #want
  for i = 1, #want do ok = ok and got[i] == want[i] end
  if not ok then
    error(("ImageOCAE: %s (%s) expected, got (%s)"):format(name, table.concat(want, ", "), table.concat(got, ", ")), level or 4)
  end
end

-- the encoder's input: (B, P, 7 + F + T)
local function encoder_input(c, pose, presence, features, templates, colour)
  local tape, B, P = pose.tape, pose.value:size(1), c.parts
  check("presence", presence, {B, P}, 5)
  check("features", features, {B, P, c.features}, 5)
  local absent = tape:constant(presence:view(B, P, 1)) * -1 + 1
  if c.templates == 0 then
    if templates then error("ImageOCAE: no templates expected (built with templates = 0), got a tensor", 5) end
    return ag.cat({pose, absent, tape:constant(features)}, 3)
  end
  if not templates then error(("ImageOCAE: templates (%d, %d) expected, got nil"):format(P, c.templates), 5) end
  check("templates", templates, {P, c.templates}, 5)
  local t = tape:constant(templates:view(1, P, c.templates)):expand({B, P, c.templates})
  if colour then   -- (B, P): one colour per part; (B, P, C): one per channel of a C-channel template
    local C = colour:dim() == 3 and colour:size(3) or 1
    check("colour", colour, C > 1 and {B, P, C} or {B, P}, 5)
    if c.templates % C ~= 0 then
      error(("ImageOCAE: colour of %d channels for templates of %d values"):format(C, c.templates), 4)
    end
    local per = c.templates // C
    t = (t:reshape(B, P, C, per) * tape:constant(colour:view(B, P, C, 1))):reshape(B, P, c.templates)
  end
  return ag.cat({pose, absent, tape:constant(features), t}, 3)
end

function ImageOCAE:compute(pose, p, presence, features, templates, colour)
  local c, tape = self.config, pose.tape
  local B, P, K = pose.value:size(1), c.parts, c.capsules
  check("pose", pose.value, {B, P, 6})
  local parts = encoder_input(c, pose, presence, features, templates, colour)
  local caps = self.encoder:compute(parts, self.encoder:leaves(tape))
  local o = capsule_layer.outputs(caps, p, P, self)
  -- the votes: object-viewer after capsule-part, (K, B, 1) with (K, B, P) -> (B, K, P) each
  local ov = geometry.affine(o.ccr, 3)
  local op = geometry.affine(o.cpr, 4)
  for i = 1, 6 do op[i] = op[i]:reshape(K, B, P) end
  local vote = geometry.compose(ov, op)
  local vote_presence = (o.pres_caps:sigmoid() * o.pres_vote:sigmoid()):permute({2, 1, 3})   -- (B, K, P)
  local scale = o.scale:permute({2, 1, 3})
  -- each part's pose under each capsule's vote: 6 dims of one scale
  local sq
  for i = 1, 6 do
    local z = (pose:narrow(3, i, 1):reshape(B, 1, P) - vote[i]:permute({2, 1, 3})) / scale
    sq = sq and sq + z * z or z * z
  end
  local logp = sq * -0.5 - (scale:log() + HALF_LOG_2PI) * 6                           -- (B, K, P)
  local dummy = tape:constant(tape:scratch(B, 1, P):fill_(LOG_DUMMY))   -- log 0.01: density and mixing logit
  logp = ag.cat({logp, dummy}, 2)
  local mixing = ag.cat({(vote_presence + 1e-16):log(), dummy}, 2)
  local posterior = mixing + logp                                                     -- (B, K + 1, P)
  local part_presence = tape:constant(presence:view(B, 1, P))
  local log_prob = (posterior:logsumexp(2) * part_presence:reshape(B, P)):sum(2):mean(1)
  -- sparsity: the prior on capsule presences, the posterior on the part mass each capsule explains
  local caps_presence = vote_presence:max(3)                                          -- (B, K)
  local prior_within, prior_between = capsule_layer.prior_sparsity(caps_presence, c.classes, c.prior_within_constant,
    self.shard)
  -- the part mass each capsule explains: each part weighted by its presence, or (official) all alike
  local responsibility = posterior:softmax(2):narrow(2, 1, K)                        -- (B, K, P)
  local mass = (c.posterior_mass == "official" and responsibility or responsibility * part_presence):sum(3)   -- (B, K)
  local post_within = entropy(mass, 2):mean(1)
  local post_between = entropy((capsule_layer.batch_sum(mass, self.shard)), 1)
  local dynamic_l2 = (o.dynamic * o.dynamic):sum(3):sum(2):sum(1) * (0.5 / B)
  local loss = -log_prob + dynamic_l2 * c.dynamic_l2_weight + prior_within * c.prior_within
    + prior_between * c.prior_between + post_within * c.posterior_within - post_between * c.posterior_between
  local function scalar(t) return t.value:reshape(1):get(1) end
  self.result = {caps_presence = caps_presence.value, mass = mass.value, vote_presence = vote_presence.value,
    log_prob = scalar(log_prob), dynamic_l2 = scalar(dynamic_l2), prior_within = scalar(prior_within),
    prior_between = scalar(prior_between), posterior_within = scalar(post_within),
    posterior_between = scalar(post_between), posterior = posterior.value,
    votes = {vote[1].value, vote[2].value, vote[3].value, vote[4].value, vote[5].value, vote[6].value}}
  return loss:reshape(1)
end


function ImageOCAE:describe()
  local c = self.config
  return ("ImageOCAE(%d parts%s -> %s -> %d object capsules%s)"):format(c.parts,
    c.templates > 0 and " with their templates" or "", self.encoder:describe(), c.capsules,
    c.posterior_mass == "official" and ", the released code's part mass" or "")
end

return ImageOCAE
