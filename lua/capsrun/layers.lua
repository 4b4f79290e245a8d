--- The plain layers: Conv2d, ReLU, Sigmoid, Linear. Each holds no math: it
-- checks its configuration and hands tensors to the native kernels.
local native = require "capsrun.native"
local Module = require "capsrun.Module"
local random = require "capsrun.random"

local layers = {}

local function check_int(fn, name, v, min)
  if math.type(v) ~= "integer" or v < min then
    error(("%s: %s must be an integer >= %d, got %s"):format(fn, name, min, tostring(v)), 3)
  end
end

-- PyTorch's default init: uniform in +-1/sqrt(fan_in) for weight and bias
local function init_uniform(t, fan_in, gen)
  local bound = 1 / math.sqrt(fan_in)
  return t:uniform_(gen, -bound, bound)
end

--- Conv2d(in_channels, out_channels, kernel, stride [, gen]): valid convolution.
-- input (b, in, h, w) -> (b, out, (h-k)//s+1, (w-k)//s+1)
local Conv2d = Module.class("Conv2d")
layers.Conv2d = Conv2d

function Conv2d.new(in_ch, out_ch, kernel, stride, gen)
  stride = stride or 1
  check_int("Conv2d", "in_channels", in_ch, 1)
  check_int("Conv2d", "out_channels", out_ch, 1)
  check_int("Conv2d", "kernel", kernel, 1)
  check_int("Conv2d", "stride", stride, 1)
  gen = gen or random.default()
  local self = Module.new(Conv2d)
  self.in_channels, self.out_channels, self.kernel, self.stride = in_ch, out_ch, kernel, stride
  local fan_in = in_ch * kernel * kernel
  self:add_parameter("weight", init_uniform(native.zeros(out_ch, in_ch, kernel, kernel), fan_in, gen))
  self:add_parameter("bias", init_uniform(native.zeros(out_ch), fan_in, gen))
  self.need_grad_input = true
  return self
end

function Conv2d:forward(input)
  self.output = native.conv2d_forward(input, self.weight, self.bias, self.stride, self.ws)
  return self.output
end

function Conv2d:backward(input, grad_output)
  self.grad_input = native.conv2d_backward(input, grad_output, self.weight, self.grad_weight,
    self.grad_bias, self.stride, self.ws, self.need_grad_input)
  return self.grad_input
end

function Conv2d:describe()
  return ("Conv2d(%d -> %d, %dx%d, stride %d)"):format(self.in_channels, self.out_channels,
    self.kernel, self.kernel, self.stride)
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

return layers
