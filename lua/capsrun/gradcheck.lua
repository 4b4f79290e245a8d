--- Finite-difference gradient checks, in the manner of Torch7's Jacobian.
-- The scalar checked is L = sum(output .* R) for a fixed random R, so
-- backward(input, R) must give dL/dinput and dL/dparams. Central
-- differences on a sample of coordinates; float32 limits the precision.
local native = require "capsrun.native"

local gradcheck = {}

local function sample(n, count, gen)
  local idx = {}
  if n <= count then for i = 1, n do idx[i] = i end return idx end
  for k = 1, count do idx[k] = gen:random(n) end
  return idx
end

-- max over sampled coordinates of |analytic - numeric| / max(scale, |numeric|)
local function compare(x, analytic, loss_fn, opts)
  local flat, gflat = x:reshape(-1), analytic:reshape(-1)
  local worst, scale = 0, math.max(opts.floor, gflat:norm() / math.sqrt(gflat:numel()))
  for _, i in ipairs(sample(flat:numel(), opts.samples, opts.gen)) do
    local orig = flat:get(i)
    flat:set(i, orig + opts.h); local lp = loss_fn()
    flat:set(i, orig - opts.h); local lm = loss_fn()
    flat:set(i, orig)
    local num, ana = (lp - lm) / (2 * opts.h), gflat:get(i)
    local err = math.abs(num - ana) / math.max(scale, math.abs(num))
    if err > worst then worst = err end
  end
  return worst
end

--- check(module, input, opts) -> {input = err, params = {err, ...}}
-- opts: h (1e-2), samples (40 per tensor), gen, floor (1e-3), check_input (true), check_params (true),
-- args (extra arguments to forward, e.g. the decoder's capsule index)
function gradcheck.check(module, input, opts)
  opts = opts or {}
  local args = opts.args or {}
  opts.h, opts.samples, opts.floor = opts.h or 1e-2, opts.samples or 40, opts.floor or 1e-3
  opts.gen = opts.gen or native.generator(1234)
  local out = module:forward(input, table.unpack(args))
  local R = native.zeros(out:size()):uniform_(opts.gen, -1, 1)
  local function loss() return module:forward(input, table.unpack(args)):dot(R) end
  module:zero_grad()
  module:forward(input, table.unpack(args))
  local gin = module:backward(input, R)
  gin = gin and gin:clone()
  local _, grads = module:parameters()
  local saved = {}
  for i, g in ipairs(grads) do saved[i] = g:clone() end
  local result = {params = {}}
  if opts.check_input ~= false and gin then result.input = compare(input, gin, loss, opts) end
  if opts.check_params ~= false then
    local params = module:parameters()
    for i, p in ipairs(params) do result.params[i] = compare(p, saved[i], loss, opts) end
  end
  return result
end

--- max_error(result) -> the worst of all errors in a check() result
function gradcheck.max_error(result)
  local worst = result.input or 0
  for _, e in ipairs(result.params) do worst = math.max(worst, e) end
  return worst
end

return gradcheck
