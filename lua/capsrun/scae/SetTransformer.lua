--- SetTransformer: the object capsule autoencoder's encoder (Kosiorek et al.
-- 2019, after Lee et al. 2019's Set Transformer), as the official code
-- builds it (capsules/attention.py), written with capsrun.autograd ops, so
-- that its backward is the tape's.
--   input x (B, N, d_in) and presence (B, N) (1: the point exists; optional)
--   h = x W_in + b_in                                        (B, N, dims)
--   n_layers blocks, each (SelfAttention, or ISAB with inducing points):
--     y = LN(mask(MHA(h, h, h) + h));  h = LN(MLP(y) + y)    MLP: dims -> 2 dims, ReLU -> dims
--   z = h W_out + b_out                                      (B, N, out_dims)
--   output = MHA(seeds, z, z)                                (B, n_outputs, out_dims)
-- MHA (MultiHeadQKVAttention): per head, queries, keys and values projected
-- to ceil(d / heads) values, softmax(q k^T / sqrt(d_head)) over the keys
-- (absent points masked out), the heads concatenated and projected back to
-- the values' width. LN: layer norm over the last axis with a gain and bias
-- (Sonnet's). Absent points take no part in any attention and are zeroed
-- after each block, so the output does not depend on them; the output does
-- not depend on the order of the points either.
--   SetTransformer.new{input = 2, dims = 128, out_dims = 32, outputs = 3, layers = 4, heads = 4,
--                      inducing = 0 (ISAB when > 0), layer_norm = true, gen = g}
--   local caps = st:forward(points, presence)   -- (B, outputs, out_dims)
local TapeModule = require "capsrun.TapeModule"
local native = require "capsrun.native"
local random = require "capsrun.random"
local ag = require "capsrun.autograd"

local SetTransformer = TapeModule.class("SetTransformer")

local MASKED = 1e9   -- subtracted from the logits of absent keys (their softmax weight underflows to 0)

-- a Linear's parameters, initialised as PyTorch's nn.Linear: U(-1/sqrt(in), 1/sqrt(in))
local function add_linear(self, name, n_in, n_out, gen)
  local bound = 1 / math.sqrt(n_in)
  self:add_parameter(name .. ".weight", native.zeros(n_in, n_out):uniform_(gen, -bound, bound))
  self:add_parameter(name .. ".bias", native.zeros(n_out):uniform_(gen, -bound, bound))
end

-- a multi-head attention's parameters: per head q, k, v projections, then the output
local function add_mha(self, name, dq, dk, dv, heads, gen)
  for h = 1, heads do
    add_linear(self, ("%s.head%d.q"):format(name, h), dq, math.ceil(dq / heads), gen)
    add_linear(self, ("%s.head%d.k"):format(name, h), dk, math.ceil(dk / heads), gen)
    add_linear(self, ("%s.head%d.v"):format(name, h), dv, math.ceil(dv / heads), gen)
  end
  add_linear(self, name .. ".out", heads * math.ceil(dv / heads), dv, gen)
end

local function add_layer_norm(self, name, d)
  self:add_parameter(name .. ".gain", native.ones(d))
  self:add_parameter(name .. ".bias", native.zeros(d))
end

function SetTransformer.new(opts)
  opts = opts or {}
  local self = TapeModule.new(SetTransformer)
  local gen = opts.gen or random.default()
  local c = {input = opts.input or 2, dims = opts.dims or 128, out_dims = opts.out_dims or 32, outputs = opts.outputs or 3,
    layers = opts.layers or 4, heads = opts.heads or 4, inducing = opts.inducing or 0,
    layer_norm = opts.layer_norm ~= false}
  for _, k in ipairs{"input", "dims", "out_dims", "outputs", "layers", "heads"} do
    if math.type(c[k]) ~= "integer" or c[k] < 1 then
      error(("SetTransformer.new: %s must be a positive integer, got %s"):format(k, tostring(c[k])), 2)
    end
  end
  self.config = c
  add_linear(self, "input", c.input, c.dims, gen)
  for l = 1, c.layers do
    local name = "block" .. l
    if c.inducing > 0 then
      self:add_parameter(name .. ".inducing", native.zeros(c.inducing, c.dims):uniform_(gen, -1, 1))
    end
    add_mha(self, name .. ".mha", c.dims, c.dims, c.dims, c.heads, gen)
    add_linear(self, name .. ".mlp1", c.dims, 2 * c.dims, gen)
    add_linear(self, name .. ".mlp2", 2 * c.dims, c.dims, gen)
    if c.layer_norm then add_layer_norm(self, name .. ".ln1", c.dims); add_layer_norm(self, name .. ".ln2", c.dims) end
  end
  add_linear(self, "output", c.dims, c.out_dims, gen)
  self:add_parameter("seeds", native.zeros(c.outputs, c.out_dims):uniform_(gen, -1, 1))
  add_mha(self, "pool", c.out_dims, c.out_dims, c.out_dims, c.heads, gen)
  return self
end

-- x (B, N, a) -> (B, N, b): one GEMM over all points
local function linear(p, name, x)
  local B, N, a = x.value:size(1), x.value:size(2), x.value:size(3)
  local w = p[name .. ".weight"]
  local y = x:reshape(B * N, a):matmul(w) + p[name .. ".bias"]
  return y:reshape(B, N, w.value:size(2))
end

-- multi-head attention of queries (B, Nq, dq) over keys and values (B, Nk, d);
-- mask (B, 1, Nk): 0 for a present key, MASKED for an absent one (or nil)
local function mha(self, p, name, q, k, v, mask)
  local heads, out = self.config.heads, {}
  for h = 1, heads do
    local pre = ("%s.head%d."):format(name, h)
    local qh, kh, vh = linear(p, pre .. "q", q), linear(p, pre .. "k", k), linear(p, pre .. "v", v)
    local logits = qh:matmul(kh:transpose(2, 3))              -- (B, Nq, Nk)
    if mask then logits = logits - mask end
    local weights = (logits * (1 / math.sqrt(qh.value:size(3)))):softmax(3)
    out[h] = weights:matmul(vh)                               -- (B, Nq, d_head)
  end
  return linear(p, name .. ".out", heads > 1 and ag.cat(out, 3) or out[1])
end

local function layer_norm(self, p, name, x)
  if not self.config.layer_norm then return x end
  return x:layer_norm(-1) * p[name .. ".gain"] + p[name .. ".bias"]
end

-- points (B, N, d) as (B, K, d) queries' keys, through K inducing points (ISAB)
local function induced(self, p, name, h, mask)
  local B, d = h.value:size(1), h.value:size(3)
  local seeds = p[name .. ".inducing"]
  local points = seeds:reshape(1, seeds.value:size(1), d):expand({B, seeds.value:size(1), d})
  local z = mha(self, p, name .. ".mha", points, h, h, mask)
  return mha(self, p, name .. ".mha", h, z, z, nil)          -- the official code shares the heads
end

function SetTransformer:compute(x, p, presence)
  local B, N = x.value:size(1), x.value:size(2)
  local mask, keep
  if presence then
    if presence:dim() ~= 2 or presence:size(1) ~= B or presence:size(2) ~= N then
      error(("SetTransformer: presence (%d, %d) expected, got (%s)"):format(B, N, table.concat(presence:size(), ", ")), 3)
    end
    -- (1 - presence) * MASKED; x's tape: this module may run inside another's (ConstellationAE)
    mask = x.tape:constant(x.tape:scratch(B, 1, N):copy_(presence:view(B, 1, N)):mul_(-MASKED):add_(MASKED))
    keep = x.tape:constant(x.tape:scratch(B, N, 1):copy_(presence:view(B, N, 1)))
  end
  local h = linear(p, "input", x)
  for l = 1, self.config.layers do
    local name = "block" .. l
    local y = self.config.inducing > 0 and induced(self, p, name, h, mask) or mha(self, p, name .. ".mha", h, h, h, mask)
    y = y + h
    if keep then y = y * keep end
    y = layer_norm(self, p, name .. ".ln1", y)
    local m = linear(p, name .. ".mlp2", linear(p, name .. ".mlp1", y):relu())
    h = layer_norm(self, p, name .. ".ln2", m + y)
  end
  local z = linear(p, "output", h)
  local seeds = p.seeds
  local K, d = seeds.value:size(1), seeds.value:size(2)
  return mha(self, p, "pool", seeds:reshape(1, K, d):expand({B, K, d}), z, z, mask)
end

function SetTransformer:describe()
  local c = self.config
  return ("SetTransformer(%d -> %d dims, %d %s blocks of %d head%s%s -> %d outputs of %d)"):format(c.input, c.dims,
    c.layers, c.inducing > 0 and ("ISAB(" .. c.inducing .. ")") or "self-attention", c.heads, c.heads == 1 and "" or "s",
    c.layer_norm and ", layer norm" or "", c.outputs, c.out_dims)
end

return SetTransformer
