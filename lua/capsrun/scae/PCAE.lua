--- PCAE: the part capsule autoencoder of Kosiorek et al. (2019), as the
-- official code builds it for MNIST (primary.py: CapsuleImageEncoder with
-- encoder_type 'conv_att', TemplateBasedImageDecoder; configs/model_config.py):
--   CNN: 4 convolutions of 128 3x3 maps, strides 2, 2, 1, 1, no padding, ReLU
--     (capsrun's Conv2d, C forward and backward): 40x40 -> 5x5
--   head (on the tape): a bias per map position, a 1x1 convolution to
--     K (6 + F + 1) values and K attention logits per position, softmax over
--     positions, the attention-weighted sum: each part capsule's pose (6),
--     special features (F) and presence logit (uniform noise of +-2 while training)
--   pose: an affine map from the 6 values (sigmoid scales, tanh(5 x) shear
--     and translation, 2 pi angle: math_ops.geometric_transform)
--   templates (K, t, t): learned, clamped to [0, 1] (relu1), initialised
--     orthogonal; each placed on the canvas by its part's pose (the inverse
--     map samples the template: autograd.template_warp, a fused C kernel)
--   image likelihood: per pixel a mixture over the K placed templates and a
--     learned grey background, mixing logits = template value / a learned
--     temperature + log presence, Normal components of scale 1
--     (autograd.image_mixture, a fused C kernel)
--   templates = "official" (run_mnist.sh's colorize_templates,
--     use_alpha_channel, template_nonlin sigmoid): sigmoid templates, each
--     part's template scaled per image by a colour, sigmoid of an MLP
--     (features -> 32 -> 1) of its special features, and mixing logits from
--     a learned alpha template placed by the same pose (zero where it does
--     not reach) + log presence, the background's softplus(a learned logit)
--   target = "sobel" (the official prep='sobel', for natural images): the
--     mixture explains the image's normalised Sobel edges
--     (native.sobel_target), not its pixels; the encoder still sees the image
-- forward(images (B, 1, H, W)) returns the loss (1,): minus the mean
-- log-likelihood per image (of its target: result.target); self.result keeps the poses (B, K, 6), the
-- presences (B, K), the special features (B, K, F), and the mixture: its
-- components (B, K + 1, H*W: the placed templates, then the background) and
-- their logits per pixel, and the mixing temperature (1,) (the tape's
-- buffers: valid until the next forward).
local Module = require "capsrun.Module"
local TapeModule = require "capsrun.TapeModule"
local layers = require "capsrun.layers"
local Sequential = require "capsrun.Sequential"
local native = require "capsrun.native"
local random = require "capsrun.random"
local ag = require "capsrun.autograd"
local geometry = require "capsrun.scae.geometry"
local capsule_layer = require "capsrun.scae.capsule_layer"

-- the tape part: from the CNN's maps and the image to the loss
local Head = TapeModule.class("PCAEHead")

local function orthogonal_templates(K, t, C, gen)
  -- rows of a random orthogonal matrix (Gram-Schmidt), scaled to [0, 1] as the official init;
  -- a row is one template of C channels: (K, t, t) for grey, (K * C, t, t) for colour
  local n = C * t * t
  local rows = {}
  for k = 1, K do
    local v = {}
    for i = 1, n do v[i] = gen:uniform() end
    for _, r in ipairs(rows) do
      local d = 0
      for i = 1, n do d = d + v[i] * r[i] end
      for i = 1, n do v[i] = v[i] - d * r[i] end
    end
    local norm = 0
    for i = 1, n do norm = norm + v[i] * v[i] end
    norm = math.sqrt(norm)
    for i = 1, n do v[i] = v[i] / norm end
    rows[k] = v
  end
  local lo, hi = math.huge, -math.huge
  for _, r in ipairs(rows) do for i = 1, n do lo, hi = math.min(lo, r[i]), math.max(hi, r[i]) end end
  local out = native.zeros(K * C, t, t)
  for k = 1, K do for i = 1, n do out:view(-1):set((k - 1) * n + i, (rows[k][i] - lo) / (hi - lo)) end end
  return out
end

function Head.new(c, gen)
  local self = TapeModule.new(Head)
  self.c = c
  local n = c.parts * (6 + c.features + 1) + c.parts
  self:add_parameter("position_bias", native.zeros(c.maps, c.grid * c.grid))
  local bound = 1 / math.sqrt(c.maps)
  self:add_parameter("att.weight", native.zeros(c.maps, n):uniform_(gen, -bound, bound))
  self:add_parameter("att.bias", native.zeros(n))
  self:add_parameter("templates", orthogonal_templates(c.parts, c.template, c.channels, gen))
  self:add_parameter("bg_value", native.zeros(1))
  if c.templates == "official" then
    local b1, b2 = 1 / math.sqrt(c.features), 1 / math.sqrt(32)
    self:add_parameter("color.1.weight", native.zeros(c.features, 32):uniform_(gen, -b1, b1))
    self:add_parameter("color.1.bias", native.zeros(32))
    self:add_parameter("color.2.weight", native.zeros(32, c.channels):uniform_(gen, -b2, b2))
    self:add_parameter("color.2.bias", native.zeros(c.channels))
    self:add_parameter("templates_alpha", native.zeros(c.parts, c.template, c.template))
    self:add_parameter("bg_mixing_logit", native.zeros(1))
  else
    self:add_parameter("temperature_logit", native.zeros(1))
  end
  self.gen = gen
  return self
end

function Head:compute(maps, p, images)
  local c, tape = self.c, maps.tape
  local B, C, G = maps.value:size(1), c.maps, c.grid * c.grid
  local K, D = c.parts, 6 + c.features + 1
  -- a bias per map and position, then the 1x1 convolution as one GEMM over all positions
  local h = maps:reshape(B, C, G) + p.position_bias
  h = h:permute({1, 3, 2}):reshape(B * G, C):matmul(p["att.weight"]) + p["att.bias"]
  h = h:reshape(B, G, K * D + K)
  local feats = h:narrow(3, 1, K * D):reshape(B, G, D, K)
  local att = h:narrow(3, K * D + 1, K):softmax(2):reshape(B, G, 1, K)    -- over positions
  -- (B, D, K) read as (B, K, D), as the official code reshapes it
  local caps = (feats * att):sum(2):reshape(B, K, D)
  local pose, features = caps:narrow(3, 1, 6), caps:narrow(3, 7, c.features)
  local logit = caps:narrow(3, 7 + c.features, 1):reshape(B, K)
  local presence = capsule_layer.noisy(self, logit, 1, c.noise):sigmoid()   -- self.shard: SCAE:set_shard
  local m = geometry.affine(pose, 3)
  local inv = geometry.inverse(m)
  local warp_pose = ag.cat(inv, 3)                                           -- (B, K, 6)
  local official = c.templates == "official"
  local templates = official and p.templates:sigmoid()
    or p.templates:relu() - (p.templates - 1):relu()                        -- relu1: clamped to [0, 1]
  local Ch, H, W = c.channels, images:size(3), images:size(4)
  local P = Ch * H * W                                                        -- values per image
  -- colour: each channel of a template is a template of its own, placed by its part's pose
  local tpose = Ch == 1 and warp_pose or warp_pose:reshape(B, K, 1, 6):expand({B, K, Ch, 6}):reshape(B, K * Ch, 6)
  local placed = ag.template_warp(templates, tpose, H, W):reshape(B, K, P)
  local color
  if official then   -- the warp is linear: colouring the placed template colours the template
    color = (features:reshape(B * K, c.features):matmul(p["color.1.weight"]) + p["color.1.bias"]):relu()
    color = (color:matmul(p["color.2.weight"]) + p["color.2.bias"]):sigmoid():reshape(B, K, Ch)
    if Ch == 1 then placed = placed * color
    else placed = (placed:reshape(B, K, Ch, H * W) * color:reshape(B, K, Ch, 1)):reshape(B, K, P) end
  end
  local bg = p.bg_value:sigmoid():reshape(1, 1, 1):expand({B, 1, P})
  local mu = ag.cat({placed, bg}, 2)                                         -- (B, K + 1, C*H*W)
  local log_presence = ag.cat({(presence + 1e-16):log(), tape:constant(tape:scratch(B, 1):fill_(0))}, 2)
  local mixing, temperature, bg_logit
  if official then   -- one alpha template per part, for all its channels
    bg_logit = p.bg_mixing_logit:softplus()
    local alpha = ag.template_warp(p.templates_alpha, warp_pose, H, W)
    alpha = Ch == 1 and alpha:reshape(B, K, P)
      or alpha:reshape(B, K, 1, H * W):expand({B, K, Ch, H * W}):reshape(B, K, P)
    mixing = ag.cat({alpha, bg_logit:reshape(1, 1, 1):expand({B, 1, P})}, 2)
  else
    temperature = (p.temperature_logit + 0.5):softplus() + 1e-4
    mixing = mu / temperature:reshape(1, 1, 1)
  end
  local logits = mixing + log_presence:reshape(B, K + 1, 1)
  local logp = ag.image_mixture(mu, logits, images:view(B, P), 1)   -- each channel its own mixture
  self.result = {pose = ag.cat(m, 3).value, presence = presence.value, features = features.value,
    templates = templates.value, log_prob = logp.value, components = mu.value, logits = logits.value,
    temperature = temperature and temperature.value, color = color and color.value,
    templates_alpha = official and p.templates_alpha.value or nil, bg_logit = bg_logit and bg_logit.value}
  return -logp:mean(1):reshape(1)
end

--- PCAE: the part capsule autoencoder; forward(images (B, C, H, W)) -> loss (1,);
-- result.pose (B, K, 6), result.presence (B, K), result.features (B, K, F)
local PCAE = Module.class("PCAE")

--- PCAE.new{parts = 16 (24 in the paper), features = 16, template = 11, maps = 128, input = 40, noise = 4,
-- templates = "relu1" (or "official": sigmoid, coloured, alpha-mixed), channels = 1 (3: colour),
-- target = "image" (or "sobel": the likelihood is of the image's normalised Sobel edges, the official
-- prep='sobel' for natural images; the encoder still sees the image), gen}
function PCAE.new(opts)
  opts = opts or {}
  local self = Module.new(PCAE)
  local gen = opts.gen or random.default()
  local c = {parts = opts.parts or 16, features = opts.features or 16, template = opts.template or 11,
    maps = opts.maps or 128, input = opts.input or 40, noise = opts.noise or 4, templates = opts.templates or "relu1",
    channels = opts.channels or 1, target = opts.target or "image"}
  if math.type(c.channels) ~= "integer" or c.channels < 1 or c.channels > 4 then
    error(("PCAE.new: channels 1 to 4 expected, got %s"):format(tostring(c.channels)), 2)
  end
  if c.target ~= "image" and c.target ~= "sobel" then
    error(("PCAE.new: target 'image' or 'sobel' expected, got '%s'"):format(tostring(c.target)), 2)
  end
  if c.templates ~= "relu1" and c.templates ~= "official" then
    error(("PCAE.new: templates 'relu1' or 'official' expected, got '%s'"):format(tostring(c.templates)), 2)
  end
  local size = c.input
  local cnn = Sequential.new()
  for i, stride in ipairs{2, 2, 1, 1} do
    cnn:add(layers.Conv2d.new(i == 1 and c.channels or c.maps, c.maps, 3, stride, 0, gen)):add(layers.ReLU.new())
    size = (size - 3) // stride + 1
  end
  if size < 1 then error(("PCAE.new: a %dx%d input is too small for 4 convolutions"):format(c.input, c.input), 2) end
  c.grid = size
  self.config, self.kind = c, "pcae"
  self:add_child("cnn", cnn)
  self:add_child("head", Head.new(c, gen))
  return self
end

function PCAE:forward(images)
  self.maps = self.cnn:forward(images)
  local target = images
  if self.config.target == "sobel" then   -- the encoder sees the image, the decoder explains its edges
    self.target = native.sobel_target(images, self.target)
    target = self.target
  end
  self.output = self.head:forward(self.maps, target)
  self.result = self.head.result
  self.result.target = target
  return self.output
end

function PCAE:backward(images, grad_output)
  local g = self.head:backward(self.maps, grad_output)
  self.grad_input = self.cnn:backward(images, g)
  return self.grad_input
end


function PCAE:describe()
  local c = self.config
  return ("PCAE(%dx%d -> 4 convolutions of %d -> %d part capsules, %dx%d %stemplates, %d features%s)"):format(c.input,
    c.input, c.maps, c.parts, c.template, c.template, c.templates == "official" and "official (sigmoid, colour, alpha) "
    or "", c.features, c.target == "sobel" and ", explaining Sobel edges" or "")
end

return PCAE
