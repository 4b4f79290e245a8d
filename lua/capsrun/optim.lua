--- Optimisers: Adam, and RMSProp with momentum (TensorFlow 1's, the stacked
-- capsule autoencoders' optimiser), with one of two learning-rate schedules:
--   "exp" (the paper's code): lr_t = lr * decay_rate ^ (step / decay_steps),
--     e.g. decay_rate 0.9 with decay_steps = batches per epoch gives x0.9 per
--     epoch; the official code used 0.96 every 2000 steps at batch 128.
--   "onecycle": linear warm-up from 0 to lr over warmup_steps, then a cosine
--     decay to 0 at total_steps (the end of the run). Annealing to zero is
--     what reaches a given accuracy in the fewest epochs (docs/performance.md).
local native = require "capsrun.native"

local optim = {}

local Adam = {}
Adam.__index = Adam
optim.Adam = Adam

--- Adam.new(params, grads, {lr, beta1, beta2, eps, schedule = "exp"|"onecycle",
-- decay_rate, decay_steps (exp), warmup_steps, total_steps (onecycle)})
function Adam.new(params, grads, opts)
  opts = opts or {}
  if #params ~= #grads then error("Adam.new: as many gradients as parameters expected", 2) end
  local self = setmetatable({params = params, grads = grads, m = {}, v = {}, step_count = 0,
    lr = opts.lr or 1e-3, beta1 = opts.beta1 or 0.9, beta2 = opts.beta2 or 0.999,
    eps = opts.eps or 1e-8, decay_rate = opts.decay_rate or 1.0,
    decay_steps = opts.decay_steps or 1, schedule = opts.schedule or "exp",
    warmup_steps = opts.warmup_steps or 0, total_steps = opts.total_steps}, Adam)
  if self.schedule ~= "exp" and self.schedule ~= "onecycle" then
    error(("Adam.new: schedule 'exp' or 'onecycle' expected, got '%s'"):format(tostring(self.schedule)), 2)
  end
  if self.schedule == "onecycle" and (math.type(self.total_steps) ~= "integer" or self.total_steps < 1) then
    error("Adam.new: the onecycle schedule needs total_steps, a positive integer", 2)
  end
  for i, p in ipairs(params) do
    self.m[i] = native.zeros(p:size())
    self.v[i] = native.zeros(p:size())
  end
  return self
end

function Adam:current_lr()
  local s = self.step_count
  if self.schedule == "exp" then return self.lr * self.decay_rate ^ (s / self.decay_steps) end
  if s < self.warmup_steps then return self.lr * (s + 1) / (self.warmup_steps + 1) end
  local t = math.min(1, (s - self.warmup_steps) / math.max(1, self.total_steps - self.warmup_steps))
  return self.lr * 0.5 * (1 + math.cos(math.pi * t))
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

--- RMSProp.new(params, grads, {lr, rho = 0.9, momentum = 0.9, eps = 1e-10, schedule, ...}):
-- TensorFlow 1's RMSPropOptimizer: ms = rho ms + (1 - rho) g^2 (ms starts at 1,
-- as TensorFlow's), mom = momentum mom + lr g / sqrt(ms + eps), p -= mom. The
-- schedules are Adam's; its state sits in m (mom) and v (ms), so checkpoints
-- keep it as they keep Adam's.
local RMSProp = setmetatable({}, {__index = Adam})
RMSProp.__index = RMSProp
optim.RMSProp = RMSProp

function RMSProp.new(params, grads, opts)
  opts = opts or {}
  local ok, self = pcall(Adam.new, params, grads, opts)
  if not ok then error((tostring(self):gsub("Adam%.new", "RMSProp.new")), 2) end
  setmetatable(self, RMSProp)
  self.rho, self.momentum, self.eps = opts.rho or 0.9, opts.momentum or 0.9, opts.eps or 1e-10
  for _, v in ipairs(self.v) do v:fill_(1) end
  return self
end

function RMSProp:step()
  local lr = self:current_lr()
  self.step_count = self.step_count + 1
  for i, p in ipairs(self.params) do
    native.rmsprop_step(p, self.grads[i], self.v[i], self.m[i], lr, self.rho, self.momentum, self.eps)
  end
end

return optim
