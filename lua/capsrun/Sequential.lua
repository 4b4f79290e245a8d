--- Sequential{m1, m2, ...}: runs modules in order; backward in reverse.
-- Errors name the failing child: "In module 3 (PrimaryCaps): ...".
local Module = require "capsrun.Module"

local Sequential = Module.class("Sequential")

function Sequential.new(modules)
  local self = Module.new(Sequential)
  self.modules = {}
  for _, m in ipairs(modules or {}) do self:add(m) end
  return self
end

function Sequential:add(m)
  if type(m) ~= "table" or type(m.forward) ~= "function" then
    error("Sequential:add: module expected, got " .. type(m), 2)
  end
  self.modules[#self.modules + 1] = m
  self:add_child(#self.modules, m)
  return self
end

--- time_modules(t): from now on, forward and backward add each child's
-- seconds into t[i] (t = nil stops); for benchmarks
function Sequential:time_modules(t)
  self.timings = t
end

local wallclock = require("capsrun.native").wallclock

local function call(self, i, method, ...)
  local m = self.modules[i]
  local t0 = self.timings and wallclock()
  local ok, res = pcall(m[method], m, ...)
  if t0 then self.timings[i] = (self.timings[i] or 0) + wallclock() - t0 end
  if not ok then
    error(("In module %d (%s): %s"):format(i, m.__name or "?", tostring(res)), 0)
  end
  return res
end

function Sequential:forward(input)
  local x = input
  for i = 1, #self.modules do x = call(self, i, "forward", x) end
  self.output = x
  return x
end

function Sequential:backward(input, grad_output)
  local g = grad_output
  for i = #self.modules, 1, -1 do
    local below = i > 1 and self.modules[i - 1].output or input
    g = call(self, i, "backward", below, g)
  end
  self.grad_input = g
  return g
end

function Sequential:describe()
  local lines = {"Sequential {"}
  for i, m in ipairs(self.modules) do lines[#lines + 1] = ("  (%d) %s"):format(i, m:describe()) end
  lines[#lines + 1] = "}"
  return table.concat(lines, "\n")
end

return Sequential
