--- The criterions (losses): MarginLoss (capsules), CrossEntropyLoss
-- (softmax over logits, for the CNN baseline), SigmoidBCELoss (several
-- classes present at once), SSELoss (reconstructions).
local native = require "capsrun.native"
local Criterion = require "capsrun.Criterion"

local criterions = {}

--- MarginLoss{m_plus = 0.9, m_minus = 0.1, lambda = 0.5}: a Criterion.
-- forward(lengths (b, J), labels (b) holding classes 0..J-1) -> mean loss;
-- backward(lengths, labels) -> gradient with respect to the lengths.
local MarginLoss = Criterion.class("MarginLoss")
criterions.MarginLoss = MarginLoss

function MarginLoss.new(opts)
  opts = opts or {}
  return Criterion.new(MarginLoss, {m_plus = opts.m_plus or 0.9, m_minus = opts.m_minus or 0.1,
    lambda = opts.lambda or 0.5})
end

function MarginLoss:evaluate(lengths, labels)
  return native.margin_loss(lengths, labels, self.m_plus, self.m_minus, self.lambda, self.ws)
end

function MarginLoss:describe()
  return ("MarginLoss(m+ %g, m- %g, lambda %g)"):format(self.m_plus, self.m_minus, self.lambda)
end

--- CrossEntropyLoss(): softmax cross-entropy of logits (b, C) against
-- labels (b) holding classes 0..C-1, mean over the batch.
local CrossEntropyLoss = Criterion.class("CrossEntropyLoss")
criterions.CrossEntropyLoss = CrossEntropyLoss

function CrossEntropyLoss.new() return Criterion.new(CrossEntropyLoss) end

function CrossEntropyLoss:evaluate(logits, labels)
  return native.cross_entropy_loss(logits, labels, self.ws)
end

--- SigmoidBCELoss(): every logit of (b, C) a yes/no "is this class
-- present" against labels (b) or (b, K) (K classes present, as in
-- MultiMNIST); sigmoid cross-entropy summed over classes, mean over the batch.
local SigmoidBCELoss = Criterion.class("SigmoidBCELoss")
criterions.SigmoidBCELoss = SigmoidBCELoss

function SigmoidBCELoss.new() return Criterion.new(SigmoidBCELoss) end

function SigmoidBCELoss:evaluate(logits, labels)
  return native.sigmoid_bce_loss(logits, labels, self.ws)
end

--- SSELoss(): per-sample sum of squared errors, mean over the batch.
-- forward(prediction (b, ...), target (b, ...)) -> loss; backward -> gradient
local SSELoss = Criterion.class("SSELoss")
criterions.SSELoss = SSELoss

function SSELoss.new() return Criterion.new(SSELoss) end

function SSELoss:evaluate(pred, target)
  return native.sse_loss(pred, target, self.ws)
end

--- SpreadLoss{margin = 0.2, final_margin = 0.9}: the loss of matrix
-- capsules (Hinton et al. 2018, eq. 3), sum over the wrong classes i of
-- max(0, m - (a_target - a_i))^2, mean over the batch. The paper starts
-- the margin m at 0.2 and raises it linearly to 0.9 during training:
-- set_progress(f) puts it at margin + f * (final_margin - margin), f in [0, 1].
local SpreadLoss = Criterion.class("SpreadLoss")
criterions.SpreadLoss = SpreadLoss

function SpreadLoss.new(opts)
  opts = opts or {}
  local self = Criterion.new(SpreadLoss, {margin = opts.margin or 0.2, final_margin = opts.final_margin or 0.9})
  self.start_margin = self.margin
  return self
end

function SpreadLoss:set_progress(f)
  f = math.max(0, math.min(1, f))
  self.margin = self.start_margin + f * (self.final_margin - self.start_margin)
end

function SpreadLoss:evaluate(act, labels)
  return native.spread_loss(act, labels, self.margin, self.ws)
end

function SpreadLoss:describe()
  return ("SpreadLoss(margin %g, rising to %g)"):format(self.margin, self.final_margin)
end

return criterions
