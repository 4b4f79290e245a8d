--- A small option parser for experiment scripts.
--   local opts = cli.parse(arg, {
--     {"epochs", "int", 3, "training epochs"}, {"lr", "number", 1e-3, "learning rate"},
--     {"dataset", "string", "mnist", "mnist or fashion", choices = {"mnist", "fashion"}},
--     {"progress", "flag", false, "..."}}, "usage line")
-- Options are --name value or --name=value; names may use dashes. Returns a
-- table keyed by name with dashes as underscores. --help prints the usage
-- and exits 0; a bad option prints the error and usage and exits 2.
local cli = {}

local function usage(spec, header)
  local lines = {header or "options:"}
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
    io.stderr:write(msg, "\n\n", usage(spec, header), "\n")
    os.exit(2)
  end
  local i = 1
  while i <= #args do
    local a = args[i]
    local name, value = a:match("^%-%-([%w%-_]+)=(.*)$")
    name = name or a:match("^%-%-([%w%-_]+)$")
    if not name then fail("unexpected argument '" .. a .. "'") end
    name = name:gsub("_", "-")
    if name == "help" then
      if spec.no_exit then error("help", 0) end
      print(usage(spec, header)); os.exit(0)
    end
    local o = byname[name]
    if not o then fail("unknown option --" .. name) end
    if o[2] == "flag" then
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
  return out
end

cli.usage = usage
return cli
