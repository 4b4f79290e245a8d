--- Self-attention routing (Mazzia et al. 2021, Efficient-CapsNet's FCCaps),
-- written with capsrun.autograd ops. No iterations: each child's agreement
-- with its parent is the dot product of its prediction with the sum of all
-- the predictions for that parent (the official code's
-- einsum('...ij,...kj->...i', u, u)), scaled by 1/sqrt(D), soft-maxed over
-- the parents, plus a learned bias; the parent is the weighted sum, squashed
-- with (1 - e^-|s|) s/|s|.
--   uhat (B, I, J, D) -> v (B, J, D); p.bias (J, I, 1), zeros at the start
local routing = {}

function routing.params(I, J)
  return {bias = require("capsrun.native").zeros(J, I, 1)}
end

--- squash of Efficient-CapsNet: (1 - e^-|s|) s / (|s| + 1e-20), along the last axis
function routing.squash(s)
  local n = s:norm(-1, true)
  return s * ((1 - (-n):exp()) / (n + 1e-20))
end

function routing.route(uhat, _, p)
  local B, I, J, D = table.unpack(uhat:size())
  local u = uhat:permute{1, 3, 2, 4}                           -- (B, J, I, D)
  local total = u:sum(3, true)                                 -- (B, J, 1, D): sum over the children
  local agree = u:matmul(total:reshape(B, J, D, 1)) * (1 / math.sqrt(D))   -- (B, J, I, 1)
  local c = agree:softmax(2) + p.bias                          -- over the parents, then the bias
  local s = c:reshape(B, J, 1, I):matmul(u)                    -- (B, J, 1, D)
  return routing.squash(s):reshape(B, J, D)
end

return routing
