--- A small option parser for experiment scripts.
--   local opts = cli.parse(arg, {
--     {"epochs", "int", 3, "training epochs"}, {"lr", "number", 1e-3, "learning rate"},
--     {"dataset", "string", "mnist", "mnist or fashion", choices = {"mnist", "fashion"}},
--     {"progress", "flag", false, "..."}}, "usage line")
-- Options are --name value or --name=value; names may use dashes. Returns a
-- table keyed by name with dashes as underscores. Other arguments are
-- positional: with spec.positional = {name = "IMAGE", min = 1} they are
-- collected, in order, into the list opts.positional; without it they are
-- an error. --help prints the usage and exits 0; a bad option prints the
-- error and usage and exits 2 (through capsrun.exit, so the host shuts
-- down in order).
local cli = {}

--- exit(code [, message]): stop the script with this exit status, printing
-- message (if any) on stderr; unwinds through the host (MPI shut down, Lua
-- state closed) instead of os.exit's immediate stop
local Exit = {__tostring = function(e) return e.message or ("exit " .. e.exit) end}
function cli.exit(code, message)
  error(setmetatable({exit = code, message = message}, Exit), 0)
end

local function usage(spec, header)
  local lines = {header or "options:"}
  if spec.positional then
    lines[#lines + 1] = ("  %-24s %s"):format(spec.positional.name, spec.positional.help or "")
  end
  for _, o in ipairs(spec) do
    local def = o[3] == nil and "" or (" (default: " .. tostring(o[3]) .. ")")
    local arg = o[2] == "flag" and "" or (" " .. o[2]:upper())
    lines[#lines + 1] = ("  --%-22s %s%s"):format(o[1] .. arg, o[4] or "", def)
  end
  lines[#lines + 1] = ("  --%-22s %s"):format("help", "show this help")
  return table.concat(lines, "\n")
end

local function convert(o, value)
  if o[2] == "int" then
    local v = math.tointeger(tonumber(value))
    if not v then return nil, "an integer" end
    if o.min and v < o.min then return nil, "an integer >= " .. o.min end
    return v
  elseif o[2] == "number" then
    local v = tonumber(value)
    if not v then return nil, "a number" end
    return v
  end
  if o.choices then
    for _, c in ipairs(o.choices) do if c == value then return value end end
    return nil, "one of " .. table.concat(o.choices, ", ")
  end
  return value
end

--- parse(args, spec, header) -> options table, or (nil, message) when
-- opts.no_exit is set in the spec table
function cli.parse(args, spec, header)
  local byname, out = {}, {}
  for _, o in ipairs(spec) do
    byname[o[1]] = o
    out[o[1]:gsub("-", "_")] = o[3]
  end
  local function fail(msg)
    if spec.no_exit then error(msg, 0) end
    cli.exit(2, msg .. "\n\n" .. usage(spec, header))
  end
  local positional = {}
  local i = 1
  while i <= #args do
    local a = args[i]
    local name, value = a:match("^%-%-([%w%-_]+)=(.*)$")
    name = name or a:match("^%-%-([%w%-_]+)$")
    if not name and not spec.positional then fail("unexpected argument '" .. a .. "'") end
    name = name and name:gsub("_", "-")
    if name == "help" then
      if spec.no_exit then error("help", 0) end
      print(usage(spec, header)); cli.exit(0)
    end
    local o = name and byname[name]
    if not name then
      positional[#positional + 1] = a
    elseif not o then fail("unknown option --" .. name)
    elseif o[2] == "flag" then
      out[name:gsub("-", "_")] = true
    else
      if value == nil then
        i = i + 1
        value = args[i]
        if value == nil then fail("option --" .. name .. " needs a value") end
      end
      local v, want = convert(o, value)
      if v == nil then fail(("option --%s: %s expected, got '%s'"):format(name, want, value)) end
      out[name:gsub("-", "_")] = v
    end
    i = i + 1
  end
  if spec.positional then
    local min = spec.positional.min or 0
    if #positional < min then
      fail(("%s expected (at least %d), got %d"):format(spec.positional.name, min, #positional))
    end
    out.positional = positional
  end
  return out
end

return cli
