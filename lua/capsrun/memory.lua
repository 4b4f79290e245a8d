--- Training memory of a CapsNet, estimated from its shapes before anything
-- is allocated: every large tensor a training step keeps (activations and
-- their gradients, the im2col matrices, the predictions and the routing's
-- saved state, parameters with their gradients and Adam moments, the data
-- set), so that a configuration too big for the machine stops with a
-- message instead of being killed half-way.
local CapsNet = require "capsrun.CapsNet"

local memory = {}

local function product(shape)
  local n = 1
  for _, d in ipairs(shape) do n = n * d end
  return n
end

--- estimate(cfg, batch [, extra]) -> total bytes, list of {name, shape, bytes}
-- sorted largest first. cfg: CapsNet options (input, classes, ...); extra:
-- decoder_pixels (adds the decoder), data_values (float values of the data set)
-- a test pass runs at batch 100 (train.evaluate): the forward buffers grow to it
memory.EVAL_BATCH = 100
-- the process before any tensor: libraries, Lua, OpenBLAS's and oneDNN's own
-- buffers (measured: 21 MB idle; 80 MB makes the estimate fit three measured runs)
memory.RUNTIME_BYTES = 80 * 2 ^ 20

function memory.estimate(cfg, batch, extra)
  extra = extra or {}
  local c = CapsNet.config(cfg)
  local B, C = batch, c.input[1]
  local F = math.max(batch, memory.EVAL_BATCH)   -- forward buffers, kept in the workspaces
  local P1, P2 = c.h1 * c.w1, c.h2 * c.w2
  local O1, O2 = c.conv_channels, c.primary_types * c.primary_dim
  local I, J, D, Din, R = c.in_caps, c.classes, c.digit_dim, c.primary_dim, c.routing_iters
  local list = {}
  local function add(name, shape, copies)
    for i, d in ipairs(shape) do shape[i] = math.tointeger(d) or d end
    list[#list + 1] = {name = name, shape = shape, copies = copies or 1, bytes = 4 * product(shape) * (copies or 1)}
  end
  local k1, k2 = c.conv_kernel * c.conv_kernel, c.primary_kernel * c.primary_kernel
  add("conv1 im2col matrix", {C * k1, F * P1})
  add("conv1 output and ReLU", {F, O1, c.h1, c.w1}, 3)
  add("conv1 gradients", {B, O1, c.h1, c.w1}, 3)
  add("primary-capsule im2col matrix", {O1 * k2, F * P2})
  add("primary-capsule GEMM buffers and output", {F, O2, c.h2, c.w2}, 4)
  add("primary capsules, squashed, and gradients", {F, I, Din}, 4)
  add("predictions u_hat", {F, I, J, D})
  add("gradient of the predictions", {B, I, J, D})
  add("routing: coupling coefficients kept for backward", {F, R, I, J})
  add("routing: logits and their gradient", {F, I, J}, 2)
  add("DigitCaps weights, gradient, Adam moments", {I, J, D, Din}, 4)
  add("convolution weights, gradients, Adam moments",
    {O1 * C * k1 + O2 * O1 * k2}, 4)
  if extra.decoder_pixels then
    local p = extra.decoder_pixels
    add("decoder weights, gradients, Adam moments", {J * D * 512 + 512 * 1024 + 1024 * p}, 4)
    add("decoder activations", {B, 512 + 1024 + p}, 3)
  end
  if extra.data_values then add("the data set", {extra.data_values}) end
  table.sort(list, function(a, b) return a.bytes > b.bytes or (a.bytes == b.bytes and a.name < b.name) end)
  local total = memory.RUNTIME_BYTES
  for _, e in ipairs(list) do total = total + e.bytes end
  return total, list
end

--- available() -> bytes the machine can still give (MemAvailable), or nil
function memory.available()
  local f = io.open("/proc/meminfo", "r")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  local kb = tonumber(text:match("MemAvailable:%s+(%d+) kB"))
  return kb and kb * 1024
end

local function gib(bytes) return ("%.1f GiB"):format(bytes / 2 ^ 30) end

--- check(cfg, batch [, extra] [, available]): raises an error naming the
-- largest tensor, its shape and bytes, and what to change, when training
-- would need more memory than is available; returns the estimate otherwise
function memory.check(cfg, batch, extra, available)
  local total, list = memory.estimate(cfg, batch, extra)
  available = available or memory.available()
  if not available or total <= available then return total, list end
  local top = list[1]
  local fits = batch
  while fits > 1 and memory.estimate(cfg, fits, extra) > available do fits = fits // 2 end
  error(("training this CapsNet at batch %d needs about %s, and this machine has %s available. "
    .. "The largest tensor is %s, %s(%s) float32 = %s. Change: a smaller --batch (%s), a larger "
    .. "--primary-stride or fewer --primary-types (fewer capsules), or a smaller input (--resize)"):format(
    batch, gib(total), gib(available), top.name, top.copies > 1 and (top.copies .. " x ") or "",
    table.concat(top.shape, ", "), gib(top.bytes),
    fits < batch and memory.estimate(cfg, fits, extra) <= available and ("batch " .. fits .. " would fit")
      or "even batch 1 does not fit"), 0)
end

return memory
