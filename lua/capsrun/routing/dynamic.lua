--- Dynamic routing (Sabour, Frosst & Hinton 2017, procedure 1), written
-- with capsrun.autograd ops; equal to the C kernel caps_route.c within
-- float rounding (spec/routing_spec.lua).
--   uhat (B, I, J, D) predictions of the I children for the J parents -> v (B, J, D)
-- opts.detach: the iterations before the last see the predictions as
-- constants (Keras CapsNet's stop_gradient); without it gradients flow
-- through every iteration, as the paper's procedure and the C kernel do.
local ag = require "capsrun.autograd"

return function(uhat, iters, opts)
  local B, I, J, D = table.unpack(uhat:size())
  local u = uhat:permute{1, 3, 2, 4}                  -- (B, J, I, D): one matrix per parent
  local held = (opts and opts.detach) and u:detach() or u
  local v, logits
  for r = 1, iters do
    local uu = r < iters and held or u
    local s
    if r == 1 then
      s = uu:sum(3, true) * (1 / J)                   -- b = 0: every coupling is 1/J
    else
      local c = ag.softmax(logits, 2)                 -- over the parents: (B, J, I, 1)
      s = c:reshape(B, J, 1, I):matmul(uu)            -- sum_i c_ij u_j|i: (B, J, 1, D)
    end
    v = s:squash(-1)
    if r < iters then
      local agree = uu:matmul(v:reshape(B, J, D, 1))  -- u_j|i . v_j: (B, J, I, 1)
      logits = logits and logits + agree or agree
    end
  end
  return v:reshape(B, J, D)
end
