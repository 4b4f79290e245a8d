--- PoseLogits(dim [, gen]): class scores from capsule poses by one linear
-- map shared by every class capsule, logit_j = w . pose_j + b, as Tsai et
-- al. (2020) classify the poses of inverted dot-product routing (whose
-- LayerNorm gives every capsule the same length, so lengths cannot be the
-- scores). A TapeModule: (b, J, dim) -> (b, J)
local native = require "capsrun.native"
local random = require "capsrun.random"
local TapeModule = require "capsrun.TapeModule"

local PoseLogits = TapeModule.class("PoseLogits")

function PoseLogits.new(dim, gen)
  local self = TapeModule.new(PoseLogits)
  self.dim = dim
  local bound = 1 / math.sqrt(dim)   -- nn.Linear's initialisation
  self:add_parameter("weight", native.zeros(dim, 1):uniform_(gen or random.default(), -bound, bound))
  self:add_parameter("bias", native.zeros(1))
  return self
end

function PoseLogits:compute(pose, p)
  local B, J = pose:size(1), pose:size(2)
  return pose:matmul(p.weight):reshape(B, J) + p.bias
end

function PoseLogits:describe() return ("PoseLogits(%dD -> 1 logit per capsule)"):format(self.dim) end

return PoseLogits
