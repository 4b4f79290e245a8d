--- BatchNorm(channels [, momentum = 0.99, eps = 1e-3]): batch
-- normalisation (Ioffe & Szegedy 2015) per channel of (b, C, ...) inputs,
-- with Keras's defaults (Efficient-CapsNet is a Keras model): in training
-- the batch's mean and biased variance over every axis but the channel's,
-- and running statistics moved by (1 - momentum) each step (the variance
-- unbiased); in evaluation
-- the running statistics. A TapeModule: its backward comes from the tape.
-- The running mean and variance are buffers: saved with the weights and in
-- checkpoints, not trained. (b, C, ...) -> the same shape
local native = require "capsrun.native"
local TapeModule = require "capsrun.TapeModule"

local BatchNorm = TapeModule.class("BatchNorm")

function BatchNorm.new(channels, momentum, eps)
  local self = TapeModule.new(BatchNorm)
  self.channels, self.momentum, self.eps = channels, momentum or 0.99, eps or 1e-3
  self:add_parameter("weight", native.ones(channels))
  self:add_parameter("bias", native.zeros(channels))
  self:add_buffer("running_mean", native.zeros(channels))
  self:add_buffer("running_var", native.ones(channels))
  return self
end

function BatchNorm:compute(x, p)
  if x.value:dim() < 2 or x:size(2) ~= self.channels then
    error(("BatchNorm: %d channels expected, got an input of shape (%s)"):format(self.channels,
      table.concat(x:size(), ", ")), 3)
  end
  return x:batch_norm(p.weight, p.bias, self.running_mean, self.running_var, self.training, self.momentum, self.eps)
end

function BatchNorm:describe() return ("BatchNorm(%d)"):format(self.channels) end

return BatchNorm
