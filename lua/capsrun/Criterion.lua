--- Criterion: a loss, in the manner of Torch7's nn.Criterion.
--   forward(input, target) -> the loss (a number, the batch mean)
--   backward(input, target) -> the gradient of the loss with respect to input
-- The gradient is computed with the loss (one native call); backward checks
-- that it is asked for the pair that forward saw.
local Criterion = {}
Criterion.__index = Criterion

function Criterion.class(name)
  local cls = setmetatable({}, {__index = Criterion})
  cls.__index = cls
  cls.__name = name
  cls.__tostring = function(self) return self:describe() end
  return cls
end

function Criterion.new(cls, fields)
  fields = fields or {}
  fields.ws = {}
  return setmetatable(fields, cls)
end

-- subclasses: self:evaluate(input, target) -> loss, gradient
function Criterion:forward(input, target)
  self.output, self.grad_input = self:evaluate(input, target)
  self.input, self.target = input, target
  return self.output
end

function Criterion:backward(input, target)
  if input ~= self.input or target ~= self.target then
    self:forward(input, target)   -- not the pair forward saw: compute it
  end
  return self.grad_input
end

function Criterion:describe() return self.__name end

return Criterion
