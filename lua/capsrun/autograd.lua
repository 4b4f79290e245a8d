--- Automatic differentiation over native ops, in the manner of
-- torch-autograd: a Tape records each op applied to its values (Vars);
-- Tape:backward runs each op's C backward in reverse order. Lua only
-- records and dispatches; forward and backward of every op are kernels
-- (native/kernels/tape_*.c).
--
--   local ag = require "capsrun.autograd"
--   local tape = ag.tape()
--   local x = tape:leaf(input, nil, true)           -- a Var; its gradient is pooled
--   local w = tape:leaf(weight, grad_weight)        -- gradients ADD into grad_weight
--   local y = (x:matmul(w)):relu():sum(2)
--   tape:backward(y, ones)                          -- x.grad, grad_weight filled
--
-- Memory: op k of a step writes its value and gradient into buffer k of the
-- tape's pools, reused by the next step (tape:reset() starts one), so a
-- model whose ops have the same shapes every step allocates no tensors after
-- its first. A value is valid until the tape's next reset, as a module's
-- output is until its next forward. Axes are 1-based; negative ones count
-- from the end (-1: the last).
local native = require "capsrun.native"

local autograd = {}

local Tape = {}
Tape.__index = Tape

local Var = {}
autograd.Var = Var

--- tape() -> a new, empty tape
function autograd.tape()
  -- values: each op's output buffer; aux, aux2: what an op keeps for its backward (reused every step)
  return setmetatable({nodes = {}, n = 0, gen = 1, done = false, values = {}, aux = {}, aux2 = {}, grads = {}}, Tape)
end

--- tape:reset(): forget the recorded ops (their buffers stay for the next step)
function Tape:reset()
  self.gen, self.n, self.done, self.nodes = self.gen + 1, 0, false, {}
  self.leaves, self.scratch_n = 0, 0
end

--- tape:scratch(d1, d2, ...) -> a tensor of that shape from the tape's pool:
-- the k-th scratch of a step is the k-th of the previous step when its shape
-- is the same (contents left as they were: fill it), so constants and noise
-- a forward needs allocate nothing after the first step
function Tape:scratch(...)
  local dims = {...}
  self.scratch_n = (self.scratch_n or 0) + 1
  self.scratch_pool = self.scratch_pool or {}
  local t = self.scratch_pool[self.scratch_n]
  local same = t ~= nil and t:dim() == #dims
  for i = 1, #dims do same = same and t:size(i) == dims[i] end
  if not same then
    t = native.zeros(table.unpack(dims))
    self.scratch_pool[self.scratch_n] = t
  end
  return t
end

local function is_var(v) return getmetatable(v) == Var end
autograd.is_var = is_var

--- tape:leaf(tensor [, grad, requires_grad]) -> Var: a value the ops start
-- from. grad: a tensor that backward ADDS into (a parameter's gradient);
-- without it a requiring leaf gets a pooled, zeroed gradient buffer.
function Tape:leaf(value, grad, requires_grad)
  if type(value) ~= "userdata" then error("tape:leaf: tensor expected, got " .. type(value), 2) end
  if requires_grad == nil then requires_grad = grad ~= nil end
  self.leaves = (self.leaves or 0) + 1
  return setmetatable({tape = self, gen = self.gen, value = value, requires_grad = requires_grad,
    external = grad, leaf = self.leaves}, Var)
end

--- tape:constant(tensor) -> Var that needs no gradient
function Tape:constant(value) return self:leaf(value, nil, false) end

-- the output buffer of the op about to be recorded (slot k), or nil the first time
local function out_buffer(tape, pool)
  return (pool or tape.values)[tape.n + 1]
end

-- records an op: value computed by the caller, inputs (Vars), its backward
-- back(node, gout) and anything it saved; returns the new Var
local function record(tape, value, inputs, back, saved)
  local k = tape.n + 1
  tape.n = k
  local needs = false
  for _, v in ipairs(inputs) do needs = needs or v.requires_grad end
  local node = setmetatable({tape = tape, gen = tape.gen, value = value, inputs = inputs, back = back,
    saved = saved, requires_grad = needs, k = k}, Var)
  tape.nodes[k] = node
  return node
end

-- the tape of the operands (all of one tape and one step), else an error naming op
local function tape_of(op, ...)
  local tape
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if is_var(v) then
      if v.gen ~= v.tape.gen then
        error(("%s: a value from a freed graph (its tape was reset by a newer forward)"):format(op), 3)
      end
      if tape and v.tape ~= tape then error(op .. ": values from two different tapes", 3) end
      tape = v.tape
    end
  end
  return tape
end

-- a Var for an operand: Vars as they are, tensors as constants
local function as_var(tape, v)
  if is_var(v) then return v end
  return tape:constant(v)
end

--- grad_of(v) -> v's gradient buffer for this backward, zeroed when first
-- reached (nil for values that need no gradient)
local function grad_of(v)
  if not v.requires_grad then return nil end
  if v.touched ~= v.tape.gen then
    v.touched = v.tape.gen
    if v.external then
      v.grad = v.external
    else
      local pool, k = v.tape.grads, v.k or ("leaf" .. v.leaf)
      local g = pool[k]
      if not g or g:numel() ~= v.value:numel() then g = native.zeros(v.value:size()); pool[k] = g
      else g = g:view(v.value:size()):fill_(0) end
      v.grad = g
    end
  end
  return v.grad
end
autograd.grad_of = grad_of

--- tape:backward(out, gout): gradients of sum(out .* gout) into every Var
-- that requires one (leaves' .grad, parameters' gradient tensors)
function Tape:backward(out, gout)
  if not is_var(out) or out.tape ~= self then error("backward: a Var of this tape expected", 2) end
  if out.gen ~= self.gen then error("backward: the graph was freed (the tape was reset by a newer forward)", 2) end
  if self.done then error("backward: called twice on one graph (run forward again)", 2) end
  if type(gout) ~= "userdata" or gout:numel() ~= out.value:numel() then
    error(("backward: a gradient tensor of %d values expected for an output of shape (%s)"):format(
      out.value:numel(), table.concat(out.value:size(), ", ")), 2)
  end
  self.done = true
  if not out.requires_grad then return end
  grad_of(out):view(-1):add_(gout:view(-1))
  for k = self.n, 1, -1 do
    local node = self.nodes[k]
    if node.touched == self.gen and node.requires_grad then node.back(node, node.grad) end
  end
end

--- var:backward([gout]): tape:backward from this Var (gout: ones for a scalar)
function Var:backward(gout)
  gout = gout or native.zeros(self.value:size()):fill_(1)
  return self.tape:backward(self, gout)
end

--- var:detach() -> the same value as a constant: no gradient flows back through it
function Var:detach()
  return self.tape:constant(self.value)
end

function Var:size(i) return self.value:size(i) end
function Var:dim() return self.value:dim() end

require("capsrun.autograd_ops")(autograd, {Var = Var, record = record, tape_of = tape_of, as_var = as_var,
  out_buffer = out_buffer, grad_of = grad_of})

return autograd
