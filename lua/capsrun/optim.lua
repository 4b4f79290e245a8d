--- Optimisers. Adam with exponential learning-rate decay:
--   lr_t = lr * decay_rate ^ (step / decay_steps)
-- e.g. decay_rate 0.9 with decay_steps = batches per epoch gives x0.9 per
-- epoch; the official code used 0.96 every 2000 steps at batch 128.
local native = require "capsrun.native"

local optim = {}

local Adam = {}
Adam.__index = Adam
optim.Adam = Adam

--- Adam.new(params, grads, {lr, beta1, beta2, eps, decay_rate, decay_steps})
function Adam.new(params, grads, opts)
  opts = opts or {}
  if #params ~= #grads then error("Adam.new: as many gradients as parameters expected", 2) end
  local self = setmetatable({params = params, grads = grads, m = {}, v = {}, step_count = 0,
    lr = opts.lr or 1e-3, beta1 = opts.beta1 or 0.9, beta2 = opts.beta2 or 0.999,
    eps = opts.eps or 1e-8, decay_rate = opts.decay_rate or 1.0,
    decay_steps = opts.decay_steps or 1}, Adam)
  for i, p in ipairs(params) do
    self.m[i] = native.zeros(p:size())
    self.v[i] = native.zeros(p:size())
  end
  return self
end

function Adam:current_lr()
  return self.lr * self.decay_rate ^ (self.step_count / self.decay_steps)
end

--- step(): one update of every parameter from its gradient.
function Adam:step()
  local lr = self:current_lr()
  self.step_count = self.step_count + 1
  for i, p in ipairs(self.params) do
    native.adam_step(p, self.grads[i], self.m[i], self.v[i], lr, self.beta1, self.beta2,
      self.eps, self.step_count)
  end
end

return optim
