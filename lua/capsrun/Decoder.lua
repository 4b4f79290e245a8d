--- Decoder: reconstructs the input from one digit capsule (Sabour et al.
-- 2017, section 4.1). All capsules but one are masked: by the true label
-- in training, by the longest capsule at evaluation, or by any given class.
-- The kept capsule goes through an MLP: J*D -> 512 ReLU -> 1024 ReLU ->
-- pixels sigmoid.
--   decoder:forward(v (b, J, D) [, index (b), 0-based]) -> (b, pixels)
--   decoder:backward(v, grad_recon) -> grad_v (b, J, D)
local native = require "capsrun.native"
local Module = require "capsrun.Module"
local Sequential = require "capsrun.Sequential"
local layers = require "capsrun.layers"
local random = require "capsrun.random"

local Decoder = Module.class("Decoder")

--- Decoder.new(classes, dim, pixels [, hidden {512, 1024}] [, gen])
function Decoder.new(classes, dim, pixels, hidden, gen)
  hidden = hidden or {512, 1024}
  gen = gen or random.default()
  local self = Module.new(Decoder)
  self.classes, self.dim, self.pixels = classes, dim, pixels
  self:add_child("mlp", Sequential.new())
  local width = classes * dim
  for _, h in ipairs(hidden) do
    self.mlp:add(layers.Linear.new(width, h, gen)):add(layers.ReLU.new())
    width = h
  end
  self.mlp:add(layers.Linear.new(width, pixels, gen)):add(layers.Sigmoid.new())
  self.mask_ws, self.length_ws = {}, {}
  return self
end

--- longest(v) -> (b) index of the longest capsule of each sample
function Decoder:longest(v)
  return native.caps_length_forward(v, self.length_ws):argmax()
end

function Decoder:forward(v, index)
  self.index = index or self:longest(v)
  self.masked = native.caps_mask_forward(v, self.index, self.mask_ws)   -- (b, J*D)
  self.output = self.mlp:forward(self.masked)                           -- (b, pixels)
  return self.output
end

function Decoder:backward(v, grad_output)
  local g = self.mlp:backward(self.masked, grad_output)
  self.grad_input = native.caps_mask_backward(v, g, self.index, self.mask_ws)
  return self.grad_input
end

function Decoder:describe()
  local sizes = {}
  for _, m in ipairs(self.mlp.modules) do
    if m.out_features then sizes[#sizes + 1] = m.out_features end
  end
  return ("Decoder(mask %d x %dD -> %s, sigmoid)"):format(self.classes, self.dim, table.concat(sizes, " -> "))
end

return Decoder
