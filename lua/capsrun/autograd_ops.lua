--- The ops of capsrun.autograd: each records one native forward and the
-- matching native backward (tape_* in capsrun.native). Every op is both a
-- function of the autograd module (autograd.matmul(a, b)) and a method of
-- Var (a:matmul(b)); +, -, *, / and unary minus work on Vars, tensors and
-- numbers, x ^ p raises to a number.
local native = require "capsrun.native"
local dist = require "capsrun.dist"

return function(autograd, h)
  local Var, record, tape_of, as_var, grad_of = h.Var, h.record, h.tape_of, h.as_var, h.grad_of

  -- the pooled output buffer of the op about to be recorded, and keeping a new one
  local function buffer(tape, pool) return (pool or tape.values)[tape.n + 1] end
  local function pooled(tape, t, pool) (pool or tape.values)[tape.n + 1] = t; return t end

  local function need_tape(op, ...)
    local tape = tape_of(op, ...)
    if not tape then error(op .. ": at least one operand must be a Var (tape:leaf)", 3) end
    return tape
  end

  -- the axis as given (the kernels check it and count negative ones from the end)
  local function axis_of(x, axis)
    if math.type(axis) ~= "integer" then error("axis: an integer expected, got " .. tostring(axis), 3) end
    return axis
  end
  local function positive(x, axis) return axis < 0 and x.value:dim() + 1 + axis or axis end

  -- elementwise f(x) with a number parameter p (exponent, factor, term)
  local function unary(op, x, p)
    local tape = need_tape(op, x)
    p = p or 0
    local value = pooled(tape, native.tape_unary(op, x.value, p, buffer(tape)))
    return record(tape, value, {x}, function(node, g)
      native.tape_unary_backward(op, x.value, node.value, g, grad_of(x), p)
    end)
  end

  -- a op b with broadcasting; a number on either side becomes a unary op
  local function binary(op, a, b)
    if type(b) == "number" then
      if op == "add" then return unary("shift", a, b) elseif op == "sub" then return unary("shift", a, -b)
      elseif op == "mul" then return unary("scale", a, b) else return unary("scale", a, 1 / b) end
    elseif type(a) == "number" then
      if op == "add" then return unary("shift", b, a) elseif op == "mul" then return unary("scale", b, a)
      elseif op == "sub" then return unary("shift", unary("neg", b), a)
      else return unary("scale", unary("pow", b, -1), a) end
    end
    local tape = need_tape(op, a, b)
    a, b = as_var(tape, a), as_var(tape, b)
    local value = pooled(tape, native.tape_binary(op, a.value, b.value, buffer(tape)))
    return record(tape, value, {a, b}, function(_, g)
      native.tape_binary_backward(op, a.value, b.value, g, grad_of(a), grad_of(b))
    end)
  end

  for _, op in ipairs{"add", "sub", "mul", "div"} do
    autograd[op] = function(a, b) return binary(op, a, b) end
  end
  for _, op in ipairs{"neg", "exp", "log", "sqrt", "abs", "relu", "sigmoid", "tanh", "sin", "cos", "softplus"} do
    autograd[op] = function(x) return unary(op, x) end
  end
  function autograd.pow(x, p)
    if type(p) ~= "number" then error("pow: a number exponent expected, got " .. type(p), 2) end
    return unary("pow", x, p)
  end

  -- reductions over one axis; keepdim keeps it at size 1 (PyTorch's default drops it)
  local function reduce(op, x, axis, keepdim)
    local tape = need_tape(op, x)
    local ax = axis_of(x, axis)
    local y, arg = native.tape_reduce(op, x.value, ax, buffer(tape), buffer(tape, tape.aux))
    pooled(tape, y)
    if arg then pooled(tape, arg, tape.aux) end
    local value = y
    if not keepdim then
      local shape = x.value:size()
      table.remove(shape, positive(x, ax))
      value = y:view(shape)
    end
    return record(tape, value, {x}, function(_, g)
      native.tape_reduce_backward(op, x.value, y, arg, g, ax, grad_of(x))
    end)
  end
  for _, op in ipairs{"sum", "mean", "max", "logsumexp", "norm"} do
    autograd[op] = function(x, axis, keepdim) return reduce(op, x, axis, keepdim) end
  end

  local function softmax(x, axis, log)
    local name = log and "log_softmax" or "softmax"
    local tape = need_tape(name, x)
    local ax = axis_of(x, axis)
    local value = pooled(tape, native.tape_softmax(x.value, ax, log, buffer(tape)))
    return record(tape, value, {x}, function(node, g)
      native.tape_softmax_backward(node.value, g, ax, log, grad_of(x))
    end)
  end
  function autograd.softmax(x, axis) return softmax(x, axis, false) end
  function autograd.log_softmax(x, axis) return softmax(x, axis, true) end

  --- squash(s [, axis = -1]): Sabour et al.'s |s|^2/(1+|s|^2) s/|s| (eps inside the root)
  function autograd.squash(x, axis)
    local tape = need_tape("squash", x)
    local ax = axis_of(x, axis or -1)
    local value = pooled(tape, native.tape_squash(x.value, ax, buffer(tape)))
    return record(tape, value, {x}, function(_, g)
      native.tape_squash_backward(x.value, g, ax, grad_of(x))
    end)
  end

  --- matmul(a, b): (..., M, K) x (..., K, N), leading dimensions broadcast
  function autograd.matmul(a, b)
    local tape = need_tape("matmul", a, b)
    a, b = as_var(tape, a), as_var(tape, b)
    local value = pooled(tape, native.tape_matmul(a.value, b.value, buffer(tape)))
    return record(tape, value, {a, b}, function(_, g)
      native.tape_matmul_backward(a.value, b.value, g, grad_of(a), grad_of(b))
    end)
  end

  --- reshape(x, d1, d2, ... or {dims}): a view, no copy (one size may be -1)
  function autograd.reshape(x, ...)
    local tape = need_tape("reshape", x)
    local value = x.value:view(...)
    return record(tape, value, {x}, function(_, g)
      grad_of(x):view(-1):add_(g:view(-1))
    end)
  end
  autograd.view = autograd.reshape

  --- permute(x, {p1, ..., pn}): dimension i of the result is dimension p_i of x
  function autograd.permute(x, perm)
    local tape = need_tape("permute", x)
    local value = pooled(tape, native.tape_permute(x.value, perm, buffer(tape)))
    return record(tape, value, {x}, function(_, g)
      native.tape_permute_backward(g, perm, grad_of(x))
    end)
  end

  --- transpose(x, i, j): dimensions i and j swapped (a copy: tensors are contiguous)
  function autograd.transpose(x, i, j)
    local n = x.value:dim()
    local perm = {}
    for k = 1, n do perm[k] = k end
    i, j = positive(x, axis_of(x, i)), positive(x, axis_of(x, j))
    perm[i], perm[j] = perm[j], perm[i]
    return autograd.permute(x, perm)
  end

  -- a pooled tensor of this shape (contents undefined); the pooled tensor itself
  -- when its shape is the same (a view of a view each step would chain them)
  local function shaped(tape, shape)
    local out = buffer(tape)
    local n, same = 1, out ~= nil and out:dim() == #shape
    for i, d in ipairs(shape) do n = n * d; same = same and out:size(i) == d end
    if same then return out end
    if not out or out:numel() ~= n then out = native.zeros(shape) else out = out:view(shape) end
    return pooled(tape, out)
  end

  --- expand(x, {sizes}): x broadcast to sizes (numpy's rule)
  function autograd.expand(x, sizes)
    local tape = need_tape("expand", x)
    local out = shaped(tape, sizes)
    local value = native.tape_expand(x.value, out, out)
    return record(tape, value, {x}, function(_, g)
      native.tape_expand_backward(g, grad_of(x))
    end)
  end

  --- narrow(x, axis, start, length): elements start .. start+length-1 along axis (1-based)
  function autograd.narrow(x, axis, start, length)
    local tape = need_tape("narrow", x)
    local ax = axis_of(x, axis)
    local value = pooled(tape, native.tape_slice(x.value, ax, start, length, buffer(tape)))
    return record(tape, value, {x}, function(_, g)
      native.tape_slice_into(g, grad_of(x), ax, start, true)
    end)
  end

  --- index_select(x, axis, index): the rows index (a tensor of 0-based
  -- indices, as capsrun's index tensors) along axis, repeats allowed
  function autograd.index_select(x, axis, index)
    local tape = need_tape("index_select", x)
    local ax = axis_of(x, axis)
    local value = pooled(tape, native.tape_index_select(x.value, ax, index, buffer(tape)))
    return record(tape, value, {x}, function(_, g)
      native.tape_index_select_backward(g, ax, index, grad_of(x))
    end)
  end

  --- template_warp(templates (T, h, w), poses (B, T, 6), H, W) -> (B, T, H, W): each template
  -- placed on an H x W canvas by its 2x3 affine pose (normalised coordinates; PyTorch's
  -- affine_grid + grid_sample, align_corners=False), bilinear; gradients to both (template_warp.c)
  function autograd.template_warp(templates, poses, H, W)
    local tape = need_tape("template_warp", templates, poses)
    templates, poses = as_var(tape, templates), as_var(tape, poses)
    local value = pooled(tape, native.tape_template_warp(templates.value, poses.value, H, W, buffer(tape)))
    return record(tape, value, {templates, poses}, function(_, g)
      native.tape_template_warp_backward(templates.value, poses.value, g, grad_of(templates), grad_of(poses))
    end)
  end

  --- image_mixture(mu (B, K, P), logits (B, K, P), y (B, P) [, sigma = 1]) -> (B): each image's
  -- log-likelihood, pixel by pixel a mixture of Gaussians N(mu_k, sigma^2) weighted by
  -- softmax_k(logits); fused (image_mixture.c); y is data (no gradient)
  function autograd.image_mixture(mu, logits, y, sigma)
    local tape = need_tape("image_mixture", mu, logits)
    mu, logits = as_var(tape, mu), as_var(tape, logits)
    local yv = type(y) == "table" and y.value or y
    sigma = sigma or 1
    local logp, post, prior = native.tape_image_mixture(mu.value, logits.value, yv, sigma, buffer(tape),
      buffer(tape, tape.aux), buffer(tape, tape.aux2))
    pooled(tape, logp); pooled(tape, post, tape.aux); pooled(tape, prior, tape.aux2)
    return record(tape, logp, {mu, logits}, function(_, g)
      native.tape_image_mixture_backward(mu.value, yv, sigma, post, prior, g, grad_of(mu), grad_of(logits))
    end)
  end

  --- cat({a, b, ...}, axis): joined along axis
  function autograd.cat(list, axis)
    if type(list) ~= "table" or #list == 0 then error("cat: a list of Vars expected", 2) end
    local tape = need_tape("cat", table.unpack(list))
    local vars = {}
    for i, v in ipairs(list) do vars[i] = as_var(tape, v) end
    local ax = positive(vars[1], axis_of(vars[1], axis))
    local shape = vars[1].value:size()
    if ax < 1 or ax > #shape then error(("cat: axis %d out of range for %d dimensions"):format(axis, #shape), 2) end
    shape[ax] = 0
    for _, v in ipairs(vars) do
      if v.value:dim() ~= #shape then error("cat: tensors of different ranks", 2) end
      shape[ax] = shape[ax] + v.value:size(ax)
    end
    local out = shaped(tape, shape)
    local pos = 1
    for _, v in ipairs(vars) do native.tape_slice_into(v.value, out, ax, pos, false); pos = pos + v.value:size(ax) end
    return record(tape, out, vars, function(_, g)
      local at = 1
      for _, v in ipairs(vars) do
        local gv = grad_of(v)
        if gv then native.tape_slice_from(g, gv, ax, at, true) end
        at = at + v.value:size(ax)
      end
    end)
  end

  --- apply(x, module): a hand-written module (C backward) inside a taped
  -- computation; its parameters' gradients accumulate as its backward adds them
  function autograd.apply(x, module)
    local tape = need_tape("apply", x)
    local value = module:forward(x.value)
    return record(tape, value, {x}, function(_, g)
      local gin = module:backward(x.value, g)
      local gx = grad_of(x)
      if gx then gx:view(-1):add_(gin:view(-1)) end
    end)
  end

  --- caps_predict(u, w): capsule predictions u_hat[j|i] = W_ij u_i, the C
  -- kernel of DigitCaps: u (B, I, Din), w (I, J, D, Din) -> (B, I, J, D)
  function autograd.caps_predict(u, w)
    local tape = need_tape("caps_predict", u, w)
    u, w = as_var(tape, u), as_var(tape, w)
    local ws = buffer(tape, tape.aux) or {}
    pooled(tape, ws, tape.aux)
    local value = native.caps_predict_forward(u.value, w.value, ws)
    return record(tape, value, {u, w}, function(_, g)
      local gw = grad_of(w)
      if not gw then
        ws.gw_scratch = ws.gw_scratch or native.zeros(w.value:size())
        gw = ws.gw_scratch
      end
      local gu = native.caps_predict_backward(u.value, w.value, g, gw, ws)
      local gx = grad_of(u)
      if gx then gx:view(-1):add_(gu:view(-1)) end
    end)
  end

  --- batch_norm(x, w, b, running_mean, running_var, training [, momentum = 0.99, eps = 1e-3]):
  -- per channel of x (B, C, ...), one fused C kernel each way; training
  -- normalises by the batch and moves the running statistics (tensors)
  function autograd.batch_norm(x, w, b, running_mean, running_var, training, momentum, eps)
    local tape = need_tape("batch_norm", x, w, b)
    x, w, b = as_var(tape, x), as_var(tape, w), as_var(tape, b)
    local value, stats = native.tape_batchnorm(x.value, w.value, b.value, running_mean, running_var, training,
      momentum or 0.99, eps or 1e-3, buffer(tape), buffer(tape, tape.aux))
    pooled(tape, value); pooled(tape, stats, tape.aux)
    return record(tape, value, {x, w, b}, function(_, g)
      native.tape_batchnorm_backward(x.value, w.value, stats, g, training, grad_of(x), grad_of(w), grad_of(b))
    end)
  end

  --- layer_norm(x [, axis = -1, eps = 1e-5]): (x - mean) / sqrt(var + eps) over the axis, the
  -- biased variance (PyTorch's); one fused C kernel each way (gain and bias are the caller's)
  function autograd.layer_norm(x, axis, eps)
    local tape = need_tape("layer_norm", x)
    local ax = axis_of(x, axis or -1)
    local y, rstd = native.tape_layer_norm(x.value, ax, eps or 1e-5, buffer(tape), buffer(tape, tape.aux))
    pooled(tape, y)
    pooled(tape, rstd, tape.aux)
    return record(tape, y, {x}, function(node, g)
      native.tape_layer_norm_backward(node.value, rstd, g, ax, grad_of(x))
    end)
  end

  --- all_sum(x [, scale = 1]): x summed over the ranks of a data-parallel run (one MPI
  -- allreduce; x itself in one process), for terms of a loss that depend on the whole batch;
  -- backward: the gradient times scale into x (the whole batch over this rank's share of it,
  -- so the ranks' gradients, averaged by share as train.step does, are one process's)
  function autograd.all_sum(x, scale)
    local tape = need_tape("all_sum", x)
    local out = buffer(tape)
    if not out or out:numel() ~= x.value:numel() then out = native.zeros(x.value:size()) end
    out = pooled(tape, out:view(x.value:size()):copy_(x.value))
    dist.allreduce_(out, "sum")
    scale = scale or 1
    return record(tape, out, {x}, function(_, g) grad_of(x):view(-1):add_(g:view(-1), scale) end)
  end

  for name, fn in pairs(autograd) do
    if type(fn) == "function" and name ~= "tape" and name ~= "is_var" and name ~= "grad_of" then Var[name] = fn end
  end
  Var.__index = Var
  Var.__add = autograd.add
  Var.__sub = autograd.sub
  Var.__mul = autograd.mul
  Var.__div = autograd.div
  Var.__unm = autograd.neg
  Var.__pow = autograd.pow
  Var.__tostring = function(v)
    return ("Var(%s%s)"):format(table.concat(v.value:size(), "x"), v.requires_grad and ", requires grad" or "")
  end
end
