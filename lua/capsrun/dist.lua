--- dist: data-parallel training over MPI. Under a plain `capsrun` (no
-- mpirun, or a build without MPI) this is a world of one process and every
-- call is cheap and correct.
--   dist.rank(), dist.size(), dist.available()
--   dist.allreduce_(t, "sum" | "mean"), dist.broadcast_(t, root), dist.barrier()
--   dist.allreduce_grads_(grads, "mean"): all gradients in one allreduce
--   dist.shard(n) -> first (0-based) and count of this rank's share of n items
local native = require "capsrun.native"

local dist = {}

function dist.rank() return native.dist_rank() end
function dist.size() return native.dist_size() end
function dist.available() return native.dist_available() end
function dist.allreduce_(t, op) return native.dist_allreduce_(t, op or "sum") end
function dist.broadcast_(t, root) return native.dist_broadcast_(t, root or 0) end
function dist.barrier() return native.dist_barrier() end
function dist.is_main() return native.dist_rank() == 0 end

local flat_buffers = setmetatable({}, {__mode = "k"})

--- allreduce_grads_(grads, op): packs the list into one buffer, one
-- allreduce, unpacks: one message per step whatever the number of tensors
function dist.allreduce_grads_(grads, op)
  if native.dist_size() == 1 then return grads end
  local flat = native.dist_pack(grads, flat_buffers[grads])
  flat_buffers[grads] = flat
  native.dist_allreduce_(flat, op or "mean")
  native.dist_unpack(flat, grads)
  return grads
end

--- broadcast_params_(params, root): every rank starts from root's values
function dist.broadcast_params_(params, root)
  if native.dist_size() == 1 then return params end
  local flat = native.dist_pack(params)
  native.dist_broadcast_(flat, root or 0)
  native.dist_unpack(flat, params)
  return params
end

--- shard(n) -> first, count: this rank's contiguous share of n items
function dist.shard(n)
  local size, rank = native.dist_size(), native.dist_rank()
  local first = n * rank // size
  return first, n * (rank + 1) // size - first
end

--- sum_(values) -> the list of numbers summed over all ranks
function dist.sum(values)
  if native.dist_size() == 1 then return values end
  local t = native.new(values)
  native.dist_allreduce_(t, "sum")
  return t:totable()
end

return dist
