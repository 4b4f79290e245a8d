--- Checkpoints: everything a training run needs to continue exactly where
-- it stopped, in capsrun's tensor file (docs/checkpoint-format.md), written
-- atomically. Nothing in a checkpoint is executed: the metadata is plain
-- key=value lines, parsed as text.
--
-- Entries: "param.<name>" (model and decoder parameters), "adam.m.<name>",
-- "adam.v.<name>", "buffer.<name>" (running statistics), "order" (the shuffled order of the epoch in progress) and
-- "meta": format, epoch (in progress, 1-based), done (images of it done),
-- adam_step, rng (generator state, hex), option.<name> (the run's options).
local native = require "capsrun.native"

local checkpoint = {}
checkpoint.FORMAT = "capsrun-checkpoint-1"

local function hex(s) return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end)) end
local function unhex(s)
  if not s or #s % 2 ~= 0 or s:find("[^0-9a-f]") then return nil end
  return (s:gsub("..", function(h) return string.char(tonumber(h, 16)) end))
end

--- save(path, state): state = {named = {{name, param}, ...}, optimizer = adam,
-- gen = generator, epoch = e, done = images, order = tensor or nil, options = table}
function checkpoint.save(path, state)
  local entries, meta = {}, {"format=" .. checkpoint.FORMAT}
  for i, e in ipairs(state.named) do
    entries["param." .. e.name] = e.param
    entries["adam.m." .. e.name] = state.optimizer.m[i]
    entries["adam.v." .. e.name] = state.optimizer.v[i]
  end
  for _, e in ipairs(state.buffers or {}) do entries["buffer." .. e.name] = e.buffer end
  if state.order then entries.order = state.order end
  meta[#meta + 1] = "epoch=" .. state.epoch
  meta[#meta + 1] = "done=" .. state.done
  meta[#meta + 1] = "adam_step=" .. state.optimizer.step_count
  meta[#meta + 1] = "rng=" .. hex(state.gen:state())
  local keys = {}
  for k in pairs(state.options or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = state.options[k]
    if type(v) == "number" or type(v) == "string" or type(v) == "boolean" then
      local s = tostring(v)
      if not s:find("[\n=]") then meta[#meta + 1] = ("option.%s=%s"):format(k, s) end
    end
  end
  entries.meta = table.concat(meta, "\n") .. "\n"
  native.save_tensors(path, entries)
end

--- load(path) -> {entries = ..., meta = {key = string}, options = {name = string}}
function checkpoint.load(path)
  local entries = native.load_tensors(path)
  if type(entries.meta) ~= "string" then error("checkpoint: " .. path .. " has no metadata", 2) end
  local meta, options = {}, {}
  for line in entries.meta:gmatch("[^\n]+") do
    local k, v = line:match("^([%w_%.%-]+)=(.*)$")
    if not k then error("checkpoint: " .. path .. ": bad metadata line '" .. line .. "'", 2) end
    local opt = k:match("^option%.(.+)$")
    if opt then options[opt] = v else meta[k] = v end
  end
  if meta.format ~= checkpoint.FORMAT then
    error(("checkpoint: %s is format '%s', this capsrun reads '%s'"):format(path, tostring(meta.format),
      checkpoint.FORMAT), 2)
  end
  for _, k in ipairs({"epoch", "done", "adam_step"}) do
    local n = math.tointeger(tonumber(meta[k]))
    if not n or n < 0 then error(("checkpoint: %s: '%s' must be a non-negative integer"):format(path, k), 2) end
    meta[k] = n
  end
  if not unhex(meta.rng) or #unhex(meta.rng) ~= 32 then error("checkpoint: " .. path .. ": bad generator state", 2) end
  return {entries = entries, meta = meta, options = options, path = path}
end

--- restore(ck, named, optimizer, gen [, drawn, buffers]) copies the state into a freshly
-- built run, checking every name and shape. Returns epoch, done, order. A run
-- whose samples are drawn from gen as it goes (drawn = true: MultiMNIST pairs)
-- has no epoch order to keep; the generator state alone continues it.
function checkpoint.restore(ck, named, optimizer, gen, drawn, buffers)
  local function take(name, dst)
    local src = ck.entries[name]
    if type(src) ~= "userdata" then error(("checkpoint: %s has no tensor '%s'"):format(ck.path, name), 3) end
    local a, b = table.concat(src:size(), "x"), table.concat(dst:size(), "x")
    if a ~= b then error(("checkpoint: %s: '%s' is %s, the run expects %s"):format(ck.path, name, a, b), 3) end
    dst:copy_(src)
  end
  for i, e in ipairs(named) do
    take("param." .. e.name, e.param)
    take("adam.m." .. e.name, optimizer.m[i])
    take("adam.v." .. e.name, optimizer.v[i])
  end
  for _, e in ipairs(buffers or {}) do take("buffer." .. e.name, e.buffer) end
  optimizer.step_count = ck.meta.adam_step
  gen:set_state(unhex(ck.meta.rng))
  local order = ck.entries.order
  if ck.meta.done > 0 and not drawn and type(order) ~= "userdata" then
    error("checkpoint: " .. ck.path .. " stops mid-epoch but holds no 'order'", 2)
  end
  return ck.meta.epoch, ck.meta.done, order
end

return checkpoint
