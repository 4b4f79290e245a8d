--- TapeModule: a Module whose forward is written with capsrun.autograd ops
-- and needs no backward: the tape gives it. It keeps the one Module
-- contract (forward returns a tensor; backward returns the input's gradient
-- and ADDS into the parameters' gradients), so it mixes freely with
-- hand-written modules in a Sequential, and parameters(), checkpoints, MPI
-- gradient averaging and capsrun.gradcheck work on it unchanged.
--
--   local Scale = TapeModule.class("Scale")
--   function Scale.new(n)
--     local self = TapeModule.new(Scale)
--     self:add_parameter("weight", capsrun.ones(n))
--     return self
--   end
--   function Scale:compute(x, p) return x * p.weight end   -- x, p.weight: Vars
--
-- compute(x, p, ...) gets the input as a Var, each parameter as p.<name>
-- (a Var whose gradient is the module's grad_<name>) and forward's extra
-- arguments; it returns a Var. The tape's buffers are reused every step.
local Module = require "capsrun.Module"
local autograd = require "capsrun.autograd"

local TapeModule = Module.class("TapeModule")

--- TapeModule.class(name) -> a new TapeModule subclass
function TapeModule.class(name) return Module.class(name, TapeModule) end

function TapeModule.new(cls)
  local self = Module.new(cls or TapeModule)
  self.tape = autograd.tape()
  return self
end

function TapeModule:compute()
  error(self.__name .. ":compute is not implemented (define it with capsrun.autograd ops)", 2)
end

--- leaves(tape) -> p: this module's own parameters as Vars of tape (each adding its
-- gradient into grad_<name>), for running compute inside another module's tape
function TapeModule:leaves(tape)
  local p = {}
  for _, name in ipairs(self.own) do p[name] = tape:leaf(self[name], self["grad_" .. name], true) end
  return p
end

function TapeModule:forward(input, ...)
  local tape = self.tape
  tape:reset()
  self.input_var = tape:leaf(input, nil, true)
  local p = self:leaves(tape)
  local out = self:compute(self.input_var, p, ...)
  if not autograd.is_var(out) then
    error(("%s:compute must return a Var, got %s"):format(self.__name, tostring(out)), 2)
  end
  self.output_var, self.output = out, out.value
  return out.value
end

function TapeModule:backward(input, grad_output)
  if not self.output_var then error(self.__name .. ":backward: call forward first", 2) end
  if input ~= self.input_var.value then
    error(self.__name .. ":backward: not the input of the last forward (forward again first)", 2)
  end
  self.tape:backward(self.output_var, grad_output)
  self.grad_input = autograd.grad_of(self.input_var)   -- zeros where the output does not depend on it
  return self.grad_input
end

return TapeModule
