--- The runs under a folder, as the board shows them: every folder (down to
-- 3 levels) holding a metrics CSV, with its rows, the figures and weights
-- files beside it, and the options of a checkpoint there (a file without
-- an extension, as --checkpoint runs/x/ck writes). Read afresh on every call, so a run that another
-- process is training grows here as its CSV grows; a row still being
-- written (no newline yet) is left for the next read, never shown torn.
local native = require "capsrun.native"

local runs = {}

local MAX_RUNS, MAX_ROWS, MAX_DEPTH = 200, 10000, 3

--- read_metrics(path) -> columns, rows (lists of numbers; NaN for a cell
-- that is not a number), or nil and the reason
function runs.read_metrics(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read(4 * 1024 * 1024) or ""   -- 10,000 epochs of 20 columns fit well within 4 MiB
  f:close()
  local complete = text:match("^(.*\n)") or ""  -- up to the last newline: a row in the middle of its write waits
  local columns, rows = nil, {}
  for line in complete:gmatch("([^\n]*)\n") do
    line = line:gsub("\r$", "")
    if not columns then
      columns = {}
      for c in line:gmatch("[^,]+") do columns[#columns + 1] = c end
    elseif #line > 0 and #rows < MAX_ROWS then
      local row = {}
      local k = 0
      for v in (line .. ","):gmatch("([^,]*),") do
        k = k + 1
        row[k] = tonumber(v) or 0 / 0   -- nan (an epoch without that measure): written as null
      end
      if k == #columns then rows[#rows + 1] = row end
    end
  end
  if not columns then return nil, path .. " has no header yet" end
  return columns, rows
end

local function has_suffix(name, suffix) return name:sub(-#suffix) == suffix end

-- one run folder: its CSV (metrics.csv, else the first *.csv), figures, weights
local function describe(root, rel, entries)
  local csv, figures, weights = nil, {}, {}
  for _, e in ipairs(entries) do
    if not e.dir then
      if e.name == "metrics.csv" or (not csv and has_suffix(e.name, ".csv")) then csv = e.name end
      if has_suffix(e.name, ".png") then figures[#figures + 1] = e.name end
      if has_suffix(e.name, ".tensors") then weights[#weights + 1] = e.name end
    end
  end
  if not csv or not native.safe_path(root, rel == "" and csv or (rel .. "/" .. csv)) then return nil end
  local dir = rel == "" and root or (root .. "/" .. rel)
  local columns, rows = runs.read_metrics(dir .. "/" .. csv)
  if not columns then return nil end
  local info = native.file_info(dir .. "/" .. csv)
  return {id = rel == "" and "." or rel, csv = csv, columns = columns, rows = rows, figures = figures,
    weights = weights, mtime = info and info.mtime or 0}
end

-- what a weights file says of its model ("capsnet, mnist, 3 routing
-- iterations"), read once per version of the file (cache: path -> entry)
local function model_of(path, cache)
  local info = native.file_info(path)
  local hit = cache[path]
  if hit and info and hit.mtime == info.mtime then return hit.text end
  local ok, config = pcall(native.load_tensor_entry, path, "config")   -- the config alone, not the weights
  local text = "not a weights file"
  if ok and type(config) == "string" then
    local c = require("capsrun.train").config_of(config)
    local parts = {c.kind or "capsnet"}
    if c.dataset then parts[#parts + 1] = c.dataset end
    if c.input then parts[#parts + 1] = table.concat(c.input, "x") end
    if c.routing_iters then parts[#parts + 1] = c.routing_iters .. " routing iterations" end
    if c.decoder then parts[#parts + 1] = "decoder" end
    text = table.concat(parts, ", ")
  elseif ok then
    text = native.load_tensor_entry(path, "meta") and "a checkpoint" or "no model configuration"
  end
  cache[path] = {mtime = info and info.mtime, text = text}
  return text
end

-- the options of the run whose checkpoint this file is ({name = value}), or
-- nil: a checkpoint's metadata lists them (option.<name>=<value>); read once
-- per version of the file, the rest of it skipped
local function options_of(path, cache)
  local info = native.file_info(path)
  local key = "options:" .. path
  local hit = cache[key]
  if hit and info and hit.mtime == info.mtime then return hit.options end
  local ok, meta = pcall(native.load_tensor_entry, path, "meta")
  local options
  if ok and type(meta) == "string" then
    for k, v in meta:gmatch("option%.([%w_]+)=([^\n]*)") do options = options or {}; options[k] = v end
  end
  cache[key] = {mtime = info and info.mtime, options = options}
  return options
end

--- list(root [, cache]) -> the runs under root, sorted by id; cache (a
-- table kept between calls) saves reading unchanged weights files again
function runs.list(root, cache)
  cache = cache or {}
  local out = {}
  local function visit(rel, depth)
    if #out >= MAX_RUNS then return end
    local dir = rel == "" and root or (root .. "/" .. rel)
    if rel ~= "" and not native.safe_path(root, rel) then return end   -- a symlink out of the root
    local entries = native.listdir(dir)
    if not entries then return end
    local run = describe(root, rel, entries)
    if run then
      run.models = {}
      for i, w in ipairs(run.weights) do run.models[i] = model_of(dir .. "/" .. w, cache) end
      for _, e in ipairs(entries) do   -- a checkpoint beside the metrics: the run's options
        if not e.dir and not e.name:find("%.%w+$") and not run.options then
          run.options = options_of(dir .. "/" .. e.name, cache)
        end
      end
      out[#out + 1] = run
    end
    if depth >= MAX_DEPTH then return end
    for _, e in ipairs(entries) do
      if e.dir then visit(rel == "" and e.name or (rel .. "/" .. e.name), depth + 1) end
    end
  end
  visit("", 0)
  table.sort(out, function(a, b) return a.id < b.id end)
  return out
end

return runs
