--- Inverted dot-product attention routing (Tsai, Srivastava, Goh &
-- Salakhutdinov, ICLR 2020), written with capsrun.autograd ops. Parents
-- compete for children: the agreement of child i with parent j is p_j .
-- u_j|i / sqrt(D), soft-maxed over the parents; each parent is the
-- agreement-weighted sum of its predictions, then LayerNorm (with a learned
-- gain and bias, as nn.LayerNorm) instead of squash. The first iteration
-- starts from equal agreements (the official code's zero query_key).
--   uhat (B, I, J, D) -> poses (B, J, D); p.ln_weight, p.ln_bias (D)
local native = require "capsrun.native"

local routing = {}

-- the class scores: a CapsNet with this routing classifies its poses with a
-- linear map and cross-entropy (capsrun.PoseLogits), as the paper does
routing.scores = "logits"

function routing.params(_, _, D)
  return {ln_weight = native.ones(D), ln_bias = native.zeros(D)}
end

function routing.route(uhat, iters, p)
  local B, I, J, D = table.unpack(uhat:size())
  local u = uhat:permute{1, 3, 2, 4}                            -- (B, J, I, D)
  local pose
  for r = 1, iters do
    local s
    if r == 1 then
      s = u:sum(3, true) * (1 / J)                              -- equal agreements: 1/J each
    else
      local agree = u:matmul(pose:reshape(B, J, D, 1)) * (1 / math.sqrt(D))   -- (B, J, I, 1)
      s = agree:softmax(2):reshape(B, J, 1, I):matmul(u)       -- over the parents; (B, J, 1, D)
    end
    pose = s:layer_norm(-1) * p.ln_weight + p.ln_bias           -- (B, J, 1, D)
  end
  return pose:reshape(B, J, D)
end

return routing
