--- The plain layers: Conv2d, ReLU, Sigmoid, Linear. Each holds no math: it
-- checks its configuration and hands tensors to the native kernels.
local native = require "capsrun.native"
local Module = require "capsrun.Module"
local random = require "capsrun.random"

local layers = {}

-- a constructor's integer argument, or an error naming the caller's caller
local function check_int(fn, name, v, min)
  if math.type(v) ~= "integer" or v < min then
    error(("%s: %s must be an integer >= %d, got %s"):format(fn, name, min, tostring(v)), 3)
  end
end
layers.check_int = check_int

-- PyTorch's default init: uniform in +-1/sqrt(fan_in) for weight and bias
local function init_uniform(t, fan_in, gen)
  local bound = 1 / math.sqrt(fan_in)
  return t:uniform_(gen, -bound, bound)
end

--- Conv2d(in_channels, out_channels, kernel [, stride 1] [, padding 0] [, gen]):
-- convolution over the input zero-padded by `padding` on every side.
-- input (b, in, h, w) -> (b, out, (h+2p-k)//s+1, (w+2p-k)//s+1)
local Conv2d = Module.class("Conv2d")
layers.Conv2d = Conv2d

function Conv2d.new(in_ch, out_ch, kernel, stride, padding, gen)
  stride, padding = stride or 1, padding or 0
  check_int("Conv2d", "in_channels", in_ch, 1)
  check_int("Conv2d", "out_channels", out_ch, 1)
  check_int("Conv2d", "kernel", kernel, 1)
  check_int("Conv2d", "stride", stride, 1)
  check_int("Conv2d", "padding", padding, 0)
  gen = gen or random.default()
  local self = Module.new(Conv2d)
  self.in_channels, self.out_channels, self.kernel, self.stride = in_ch, out_ch, kernel, stride
  self.padding, self.pad_ws = padding, {}
  local fan_in = in_ch * kernel * kernel
  self:add_parameter("weight", init_uniform(native.zeros(out_ch, in_ch, kernel, kernel), fan_in, gen))
  self:add_parameter("bias", init_uniform(native.zeros(out_ch), fan_in, gen))
  self.need_grad_input = true
  return self
end

function Conv2d:forward(input)
  local x = input
  if self.padding > 0 then x = native.pad2d_forward(input, self.padding, self.pad_ws) end
  self.output = native.conv2d_forward(x, self.weight, self.bias, self.stride, self.ws)
  return self.output
end

function Conv2d:backward(input, grad_output)
  local padded = self.padding > 0
  local x = padded and self.pad_ws.output or input
  local g = native.conv2d_backward(x, grad_output, self.weight, self.grad_weight,
    self.grad_bias, self.stride, self.ws, self.need_grad_input)
  if g and padded then g = native.pad2d_backward(input, g, self.padding, self.pad_ws) end
  self.grad_input = g
  return self.grad_input
end

function Conv2d:describe()
  return ("Conv2d(%d -> %d, %dx%d, stride %d%s)"):format(self.in_channels, self.out_channels,
    self.kernel, self.kernel, self.stride, self.padding > 0 and (", padding " .. self.padding) or "")
end

--- Linear(in_features, out_features [, gen]): (b, in) -> (b, out)
local Linear = Module.class("Linear")
layers.Linear = Linear

function Linear.new(n_in, n_out, gen)
  check_int("Linear", "in_features", n_in, 1)
  check_int("Linear", "out_features", n_out, 1)
  gen = gen or random.default()
  local self = Module.new(Linear)
  self.in_features, self.out_features = n_in, n_out
  self:add_parameter("weight", init_uniform(native.zeros(n_out, n_in), n_in, gen))
  self:add_parameter("bias", init_uniform(native.zeros(n_out), n_in, gen))
  return self
end

function Linear:forward(input)
  self.output = native.linear_forward(input, self.weight, self.bias, self.ws)
  return self.output
end

function Linear:backward(input, grad_output)
  self.grad_input = native.linear_backward(input, grad_output, self.weight, self.grad_weight,
    self.grad_bias, self.ws)
  return self.grad_input
end

function Linear:describe()
  return ("Linear(%d -> %d)"):format(self.in_features, self.out_features)
end

--- Elementwise activations: backward needs only the output.
local function activation(name, fwd, bwd)
  local cls = Module.class(name)
  cls.new = function() return Module.new(cls) end
  cls.forward = function(self, input)
    self.output = fwd(input, self.ws)
    return self.output
  end
  cls.backward = function(self, _, grad_output)
    self.grad_input = bwd(self.output, grad_output, self.ws)
    return self.grad_input
  end
  return cls
end

layers.ReLU = activation("ReLU", native.relu_forward, native.relu_backward)
layers.Sigmoid = activation("Sigmoid", native.sigmoid_forward, native.sigmoid_backward)

--- MaxPool2d(kernel [, stride = kernel]): the largest value of each window.
-- (b, c, h, w) -> (b, c, (h-k)//s+1, (w-k)//s+1); the gradient goes to the winner
local MaxPool2d = Module.class("MaxPool2d")
layers.MaxPool2d = MaxPool2d

function MaxPool2d.new(kernel, stride)
  stride = stride or kernel
  check_int("MaxPool2d", "kernel", kernel, 1)
  check_int("MaxPool2d", "stride", stride, 1)
  local self = Module.new(MaxPool2d)
  self.kernel, self.stride = kernel, stride
  return self
end

function MaxPool2d:forward(input)
  self.output = native.maxpool2d_forward(input, self.kernel, self.stride, self.ws)
  return self.output
end

function MaxPool2d:backward(input, grad_output)
  self.grad_input = native.maxpool2d_backward(input, grad_output, self.kernel, self.stride, self.ws)
  return self.grad_input
end

function MaxPool2d:describe()
  return ("MaxPool2d(%dx%d, stride %d)"):format(self.kernel, self.kernel, self.stride)
end

--- Dropout(p [, gen]): in training, zeroes each value with probability p and
-- scales the rest by 1/(1-p); in evaluation (module:evaluate()) the identity.
local Dropout = Module.class("Dropout")
layers.Dropout = Dropout

function Dropout.new(p, gen)
  if type(p) ~= "number" or not (p >= 0 and p < 1) then
    error("Dropout: p must be a probability in [0, 1), got " .. tostring(p), 2)
  end
  local self = Module.new(Dropout)
  self.p, self.gen = p, gen or random.default()
  return self
end

function Dropout:forward(input)
  self.active = self.training and self.p > 0
  self.output = self.active and native.dropout_forward(input, self.p, self.gen, self.ws) or input
  return self.output
end

function Dropout:backward(_, grad_output)
  self.grad_input = self.active and native.dropout_backward(grad_output, self.ws) or grad_output
  return self.grad_input
end

function Dropout:describe() return ("Dropout(p %g)"):format(self.p) end

--- Flatten(): (b, ...) -> (b, prod(...)), a view
local Flatten = Module.class("Flatten")
layers.Flatten = Flatten

function Flatten.new() return Module.new(Flatten) end

function Flatten:forward(input)
  self.output = input:reshape(input:size(1), -1)
  return self.output
end

function Flatten:backward(input, grad_output)
  self.grad_input = grad_output:reshape(input:size())
  return self.grad_input
end

return layers
