--- SCAE: the stacked capsule autoencoder (Kosiorek et al. 2019): the part
-- capsule autoencoder (PCAE) on the image and the object capsule
-- autoencoder (ImageOCAE) on the PCAE's part capsules, trained together.
-- forward(images (B, 1, H, W)) returns the loss (1,): the PCAE's minus
-- log-likelihood of the image plus the OCAE's loss (minus the part
-- log-likelihood and its sparsity terms). The OCAE reads the parts as
-- constants (their values, no tape): the stop-gradient of the paper
-- (stop_grad_caps_inpt and stop_grad_caps_target of the official code), so
-- the OCAE's loss trains the OCAE only and the image likelihood the PCAE.
-- With feed_templates = true (the official code's default; not capsrun's,
-- which learned faster without, docs/scae.md) the OCAE also sees each
-- part's template (coloured per image with --templates official), also as
-- a constant.
-- After forward, self.result holds part (the PCAE's result), object (the
-- OCAE's) and the two losses.
--   SCAE.new{parts = 40, capsules = 32, features = 16, template = 11, input = 40, feed_templates = false, gen = g, ...}
local Module = require "capsrun.Module"
local PCAE = require "capsrun.scae.PCAE"
local ImageOCAE = require "capsrun.scae.ImageOCAE"
local native = require "capsrun.native"
local random = require "capsrun.random"

--- SCAE: the stacked capsule autoencoder, PCAE then ImageOCAE on its parts (stop-gradient
-- between them); forward(images (B, 1, H, W)) -> loss (1,); result.part, result.object
local SCAE = Module.class("SCAE")

--- SCAE.new{parts = 40, capsules = 32, features = 16, template = 11, maps = 128, input = 40, classes = 10,
-- templates = "relu1" or "official" (the PCAE's), feed_templates = false (true: the OCAE sees the templates),
-- channels = 1 (3: colour images), target = "image" (or "sobel": the PCAE explains the image's edges),
-- posterior_mass = "presence" (or "official": ImageOCAE's), gen}
function SCAE.new(opts)
  opts = opts or {}
  local self = Module.new(SCAE)
  local gen = opts.gen or random.default()
  local parts, features = opts.parts or 40, opts.features or 16
  local feed = opts.feed_templates == true
  self:add_child("pcae", PCAE.new{parts = parts, features = features, template = opts.template, maps = opts.maps,
    input = opts.input, noise = opts.part_noise, templates = opts.templates, channels = opts.channels,
    target = opts.target, gen = gen})
  local pc = self.pcae.config
  self:add_child("ocae", ImageOCAE.new{parts = parts, features = features, capsules = opts.capsules or 32,
    dims = opts.dims, out_dims = opts.out_dims, layers = opts.layers, heads = opts.heads, classes = opts.classes,
    noise = opts.object_noise, templates = feed and pc.channels * pc.template * pc.template or 0,
    posterior_mass = opts.posterior_mass, gen = gen})
  self.config = {parts = parts, features = features, capsules = self.ocae.config.capsules,
    input = {pc.channels, pc.input, pc.input}, template = pc.template,
    templates = pc.templates, feed_templates = feed, target = pc.target,
    posterior_mass = self.ocae.config.posterior_mass}
  self.kind = "scae"
  self.one = native.ones(1)
  return self
end

--- set_shard(first, n): under data parallel this process's images are rows first + 1 .. of a
-- batch of n: the noise and the batch-wide sparsity terms become the whole batch's, so ranks
-- train as one process (collective: every rank's forward then takes part); set_shard() to end
function SCAE:set_shard(first, n)
  local shard = nil
  if first then
    self.shard = self.shard or {}
    self.shard.first, self.shard.n = first, n
    shard = self.shard
  end
  self.pcae.head.shard, self.ocae.shard = shard, shard
end

function SCAE:forward(images)
  local part_loss = self.pcae:forward(images):get(1)
  local r = self.pcae.result
  if not self.pose or self.pose:size(1) ~= r.pose:size(1) then self.pose = native.zeros(r.pose:size()) end
  self.pose:copy_(r.pose)   -- the tape's buffers change with the next forward
  local templates, colour
  if self.config.feed_templates then
    local K, t = self.config.parts, self.config.template
    local C = self.config.input[1]
    templates = r.templates:view(K, C * t * t)
    colour = r.color and (C == 1 and r.color:view(r.pose:size(1), K) or r.color)   -- (B, K) or (B, K, C)
  end
  local object_loss = self.ocae:forward(self.pose, r.presence, r.features, templates, colour):get(1)
  self.result = {part = r, object = self.ocae.result, part_loss = part_loss, object_loss = object_loss}
  self.output = self.output or native.zeros(1)
  self.output:set(1, part_loss + object_loss)
  return self.output
end

function SCAE:backward(images, grad_output)
  local g = grad_output:get(1)
  self.one:set(1, g)
  self.ocae:backward(self.pose, self.one)
  self.grad_input = self.pcae:backward(images, self.one)
  return self.grad_input
end

function SCAE:describe()
  return ("SCAE(%s, %s)"):format(self.pcae:describe(), self.ocae:describe())
end

return SCAE
