--- Sequential{m1, m2, ...}: runs modules in order; backward in reverse.
-- Errors name the failing child: "In module 3 (PrimaryCaps): ...".
local Module = require "capsrun.Module"

local Sequential = Module.class("Sequential")

function Sequential.new(modules)
  local self = Module.new(Sequential)
  self.modules = {}
  for i, m in ipairs(modules or {}) do self:add(m) end
  return self
end

function Sequential:add(m)
  if type(m) ~= "table" or type(m.forward) ~= "function" then
    error("Sequential:add: module expected, got " .. type(m), 2)
  end
  self.modules[#self.modules + 1] = m
  return self
end

local function call(self, i, method, ...)
  local m = self.modules[i]
  local ok, res = pcall(m[method], m, ...)
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

function Sequential:parameters()
  local params, grads = {}, {}
  for _, m in ipairs(self.modules) do
    local p, g = m:parameters()
    for k = 1, #p do params[#params + 1] = p[k]; grads[#grads + 1] = g[k] end
  end
  return params, grads
end

function Sequential:grad_parameters()
  local _, g = self:parameters()
  return g
end

--- named_parameters() -> {{name = "2.conv.weight", param = t, grad = g}, ...}
function Sequential:named_parameters()
  local out = {}
  for i, m in ipairs(self.modules) do
    local p, g = m:parameters()
    if m.named_parameters then
      for _, e in ipairs(m:named_parameters()) do
        out[#out + 1] = {name = i .. "." .. e.name, param = e.param, grad = e.grad}
      end
    else
      for k = 1, #p do
        local n = m.param_names and m.param_names[k] or tostring(k)
        out[#out + 1] = {name = i .. "." .. n, param = p[k], grad = g[k]}
      end
    end
  end
  return out
end

function Sequential:zero_grad()
  for _, m in ipairs(self.modules) do m:zero_grad() end
end

function Sequential:train()
  self.training = true
  for _, m in ipairs(self.modules) do m:train() end
  return self
end

function Sequential:evaluate()
  self.training = false
  for _, m in ipairs(self.modules) do m:evaluate() end
  return self
end

function Sequential:describe()
  local lines = {"Sequential {"}
  for i, m in ipairs(self.modules) do lines[#lines + 1] = ("  (%d) %s"):format(i, m:describe()) end
  lines[#lines + 1] = "}"
  return table.concat(lines, "\n")
end

return Sequential
