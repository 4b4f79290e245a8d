--- Module: the base of every layer, in the manner of Torch7's nn.Module.
-- A module owns its output and scratch buffers (self.ws, a workspace table
-- that the native functions fill and reuse), its own parameters and their
-- gradients (add_parameter), and its children (add_child). Everything that
-- walks the parameters is derived from those two lists, recursively:
-- named_parameters, parameters, grad_parameters, zero_grad, train/evaluate,
-- num_parameters. backward ADDS into the gradients; zero_grad clears them.
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
  return setmetatable({ws = {}, own = {}, buffer_names = {}, children = {}, training = true}, cls)
end

function Module:forward(input)
  error(self.__name .. ":forward is not implemented", 2)
end

function Module:backward(input, grad_output)
  error(self.__name .. ":backward is not implemented", 2)
end

--- Registers a parameter tensor and its zeroed gradient under a name:
-- self[name] and self["grad_" .. name].
function Module:add_parameter(name, tensor)
  local native = require "capsrun.native"
  self[name] = tensor
  self["grad_" .. name] = native.zeros(tensor:size())
  self.own[#self.own + 1] = name
end

--- Registers a buffer: state that is not trained by the optimiser but is
-- saved with the weights and checkpoints (batch norm's running statistics):
-- self[name].
function Module:add_buffer(name, tensor)
  self[name] = tensor
  self.buffer_names[#self.buffer_names + 1] = name
end

--- named_buffers() -> {{name = "2.running_mean", buffer = t}, ...}, own first, then the children's
function Module:named_buffers()
  local out = {}
  for _, name in ipairs(self.buffer_names or {}) do out[#out + 1] = {name = name, buffer = self[name]} end
  for _, c in ipairs(self.children) do
    for _, e in ipairs(c.module:named_buffers()) do out[#out + 1] = {name = c.name .. "." .. e.name, buffer = e.buffer} end
  end
  return out
end

--- Registers a child module under a name (self[name] too, unless the name
-- is a number, as in Sequential); returns the child.
function Module:add_child(name, child)
  if type(child) ~= "table" or type(child.forward) ~= "function" then
    error(("%s:add_child: module expected for '%s', got %s"):format(self.__name, name, type(child)), 2)
  end
  self.children[#self.children + 1] = {name = tostring(name), module = child}
  if type(name) == "string" then self[name] = child end
  return child
end

--- named_parameters() -> {{name = "3.conv.weight", param = t, grad = g}, ...}:
-- own parameters first, then each child's under "<child name>."
function Module:named_parameters()
  local out = {}
  for _, name in ipairs(self.own) do
    out[#out + 1] = {name = name, param = self[name], grad = self["grad_" .. name]}
  end
  for _, c in ipairs(self.children) do
    for _, e in ipairs(c.module:named_parameters()) do
      out[#out + 1] = {name = c.name .. "." .. e.name, param = e.param, grad = e.grad}
    end
  end
  return out
end

--- parameters() -> {weight, bias, ...}, {grad_weight, grad_bias, ...}
function Module:parameters()
  local params, grads = {}, {}
  for i, e in ipairs(self:named_parameters()) do params[i] = e.param; grads[i] = e.grad end
  return params, grads
end

function Module:grad_parameters()
  return select(2, self:parameters())
end

function Module:zero_grad()
  for _, e in ipairs(self:named_parameters()) do e.grad:fill_(0) end
end

-- sets the training flag on the module and all its children
local function set_training(m, on)
  m.training = on
  for _, c in ipairs(m.children) do set_training(c.module, on) end
  return m
end

function Module:train() return set_training(self, true) end
function Module:evaluate() return set_training(self, false) end

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

return Module
