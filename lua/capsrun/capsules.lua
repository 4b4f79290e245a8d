--- Capsule layers: Squash, PrimaryCaps, DigitCaps (dynamic routing), Length.
-- The losses are in capsrun.criterions.
local native = require "capsrun.native"
local Module = require "capsrun.Module"
local random = require "capsrun.random"
local layers = require "capsrun.layers"

local capsules = {}

--- Squash(): squashes vectors along the last dimension; norms end below 1.
local Squash = Module.class("Squash")
capsules.Squash = Squash

function Squash.new() return Module.new(Squash) end

function Squash:forward(input)
  self.output = native.caps_squash_forward(input, self.ws)
  return self.output
end

function Squash:backward(input, grad_output)
  self.grad_input = native.caps_squash_backward(input, grad_output, self.ws)
  return self.grad_input
end

--- PrimaryCaps(in_channels, types, dim, kernel, stride [, gen]): one
-- convolution to types*dim channels, regrouped into types*h*w capsules of
-- `dim` values, squashed. (b, in, H, W) -> (b, types*h*w, dim)
local PrimaryCaps = Module.class("PrimaryCaps")
capsules.PrimaryCaps = PrimaryCaps

function PrimaryCaps.new(in_ch, types, dim, kernel, stride, gen)
  local self = Module.new(PrimaryCaps)
  self.types, self.dim = types, dim
  self:add_child("conv", layers.Conv2d.new(in_ch, types * dim, kernel, stride, 0, gen or random.default()))
  self:add_child("squash", Squash.new())
  self.regroup_ws = {}
  return self
end

function PrimaryCaps:forward(input)
  local maps = self.conv:forward(input)                                   -- (b, types*dim, h, w)
  self.capsules = native.caps_regroup_forward(maps, self.dim, self.regroup_ws) -- (b, types*h*w, dim)
  self.output = self.squash:forward(self.capsules)
  return self.output
end

function PrimaryCaps:backward(input, grad_output)
  local g = self.squash:backward(self.capsules, grad_output)
  g = native.caps_regroup_backward(self.conv.output, g, self.dim, self.regroup_ws)
  self.grad_input = self.conv:backward(input, g)
  return self.grad_input
end

function PrimaryCaps:describe()
  return ("PrimaryCaps(%d types x %dD, %s)"):format(self.types, self.dim, self.conv:describe())
end

--- DigitCaps(in_caps, in_dim, out_caps, out_dim, routing_iters [, gen]):
-- a dense capsule layer: u_hat[j|i] = W_ij u_i with one (out_dim x in_dim)
-- matrix per (i, j), then dynamic routing. routing_iters is a plain field
-- that scripts may change at any time. (b, I, in_dim) -> (b, J, out_dim)
local DigitCaps = Module.class("DigitCaps")
capsules.DigitCaps = DigitCaps

function DigitCaps.new(in_caps, in_dim, out_caps, out_dim, routing_iters, gen)
  local self = Module.new(DigitCaps)
  self.in_caps, self.in_dim, self.out_caps, self.out_dim = in_caps, in_dim, out_caps, out_dim
  self.routing_iters = routing_iters or 3
  self.init_std = 0.01  -- as the official code
  self:add_parameter("weight", native.zeros(in_caps, out_caps, out_dim, in_dim)
    :normal_(gen or random.default(), 0, self.init_std))
  self.predict_ws, self.route_ws = {}, {}
  return self
end

function DigitCaps:forward(input)
  local iters = self.routing_iters
  if math.type(iters) ~= "integer" or iters < 1 then
    error("DigitCaps: routing_iters must be a positive integer, got " .. tostring(iters), 2)
  end
  self.uhat = native.caps_predict_forward(input, self.weight, self.predict_ws) -- (b, I, J, D)
  self.output = native.caps_route_forward(self.uhat, iters, self.route_ws)     -- (b, J, D)
  return self.output
end

function DigitCaps:backward(input, grad_output)
  local guhat = native.caps_route_backward(self.uhat, grad_output, self.route_ws)
  self.grad_input = native.caps_predict_backward(input, self.weight, guhat, self.grad_weight,
    self.predict_ws)
  return self.grad_input
end

--- coupling() -> (b, iters, I, J) coupling coefficients of the last forward
function DigitCaps:coupling()
  return self.route_ws.coupling
end

function DigitCaps:describe()
  return ("DigitCaps(%d x %dD -> %d x %dD, %d routing iterations)"):format(self.in_caps,
    self.in_dim, self.out_caps, self.out_dim, self.routing_iters)
end

--- Length(): capsule lengths, (..., D) -> (...)
local Length = Module.class("Length")
capsules.Length = Length

function Length.new() return Module.new(Length) end

function Length:forward(input)
  self.output = native.caps_length_forward(input, self.ws)
  return self.output
end

function Length:backward(input, grad_output)
  self.grad_input = native.caps_length_backward(input, grad_output, self.ws)
  return self.grad_input
end

return capsules
