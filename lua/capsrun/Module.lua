--- Module: the base of every layer, in the manner of Torch7's nn.Module.
-- A module owns its output and scratch buffers (self.ws, a workspace table
-- that the native functions fill and reuse), its parameters (self.params)
-- and their gradients (self.grads). backward ADDS into the gradients;
-- zero_grad clears them.
local Module = {}
Module.__index = Module

--- Makes a new module class: local Conv2d = Module.class("Conv2d")
function Module.class(name, parent)
  parent = parent or Module
  local cls = setmetatable({}, {__index = parent})
  cls.__index = cls
  cls.__name = name
  cls.__tostring = parent.__tostring
  return cls
end

function Module.new(cls)
  return setmetatable({ws = {}, params = {}, grads = {}, training = true}, cls)
end

function Module:forward(input)
  error(self.__name .. ":forward is not implemented", 2)
end

function Module:backward(input, grad_output)
  error(self.__name .. ":backward is not implemented", 2)
end

--- parameters() -> {weight, bias, ...}, {grad_weight, grad_bias, ...}
function Module:parameters()
  return self.params, self.grads
end

function Module:grad_parameters()
  return self.grads
end

function Module:zero_grad()
  for _, g in ipairs(self.grads) do g:fill_(0) end
end

function Module:train() self.training = true; return self end
function Module:evaluate() self.training = false; return self end

--- Number of trainable values.
function Module:num_parameters()
  local n = 0
  for _, p in ipairs(self:parameters()) do n = n + p:numel() end
  return n
end

function Module:describe()
  return self.__name
end

Module.__tostring = function(self) return self:describe() end

--- Registers a parameter tensor and its zeroed gradient under a name.
function Module:add_parameter(name, tensor)
  local native = require "capsrun.native"
  self[name] = tensor
  self["grad_" .. name] = native.zeros(tensor:size())
  self.params[#self.params + 1] = tensor
  self.grads[#self.grads + 1] = self["grad_" .. name]
  self.param_names = self.param_names or {}
  self.param_names[#self.params] = name
end

return Module
