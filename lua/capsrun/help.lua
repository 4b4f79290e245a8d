--- help([x]): what capsrun has, and what x is. The REPL defines the global
-- help. Documentation comes from the source: the comment block above a
-- function's definition, or above a class's definition.
--   help()                   the API by kind
--   help(capsrun.DigitCaps)  a class: its documentation, constructor and methods
--   help(model)              an instance: what it is, its parameters, its methods
--   help(capsrun.train)      a library: each function with its first line of documentation
--   help(capsrun.train.step) a function: its documentation

-- the lines of a Lua file, cached
local files = {}
local function lines_of(source)
  local path = source and source:match("^@(.+)$")
  if not path then return nil end
  if files[path] == nil then
    local f, list = io.open(path, "r"), false
    if f then list = {}; for l in f:lines() do list[#list + 1] = l end; f:close() end
    files[path] = list
  end
  return files[path] or nil
end

-- the comment block ending just above line n
local function comment_above(lines, n)
  local out = {}
  local i = n - 1
  while i >= 1 and lines[i]:match("^%s*%-%-") do table.insert(out, 1, (lines[i]:gsub("^%s*%-%-%-?%s?", ""))); i = i - 1 end
  return #out > 0 and table.concat(out, "\n") or nil
end

-- documentation of a Lua function, from its source
local function doc_of_function(fn)
  local info = debug.getinfo(fn, "S")
  if info.what == "C" then return "a native function (C)" end
  local lines = lines_of(info.source)
  return lines and comment_above(lines, info.linedefined) or nil
end

-- a class's parent (Module.class keeps it as the __index of the class's metatable)
local function parent_of(cls)
  local mt = getmetatable(cls)
  return mt and type(mt.__index) == "table" and mt.__index or nil
end

local function is_class(v) return type(v) == "table" and rawget(v, "__name") ~= nil and rawget(v, "__index") == v end

-- documentation of a class: above its definition line (X.class("Name")), else above new
local function doc_of_class(cls)
  local new = rawget(cls, "new") or rawget(cls, "compute") or rawget(cls, "forward")
  if type(new) ~= "function" then return nil end
  local info = debug.getinfo(new, "S")
  local lines = lines_of(info.source)
  if not lines then return nil end
  for i, l in ipairs(lines) do
    if l:find('class("' .. cls.__name .. '"', 1, true) then
      local d = comment_above(lines, i)
      if d then return d end
    end
  end
  return comment_above(lines, info.linedefined)
end

local function methods_of(cls)
  local seen, out = {}, {}
  local c = cls
  while c do
    for k, v in pairs(c) do
      if type(v) == "function" and not k:match("^__") and not seen[k] then seen[k] = true; out[#out + 1] = k end
    end
    c = parent_of(c)
  end
  table.sort(out)
  return out
end

local bases   -- {[Module] = "Module", [Criterion] = "Criterion"}, set by the constructor below

local function ancestry(cls)
  local names, c = {}, cls
  while c do names[#names + 1] = rawget(c, "__name") or bases[c] or "?"; c = parent_of(c) end
  return names
end

local function overview(capsrun)
  local groups = {models = {}, layers = {}, criterions = {}, libraries = {}, functions = {}}
  for k, v in pairs(capsrun) do
    if bases[v] or k == "native" then
      groups.libraries[#groups.libraries + 1] = k
    elseif type(v) == "table" and type(rawget(v, "new")) == "function" and not is_class(v) then
      groups.models[#groups.models + 1] = k           -- CapsNet, MatrixCapsNet, CNNBaseline: builders
    elseif is_class(v) then
      local chain = table.concat(ancestry(v), " ")
      local g = chain:find("Criterion", 1, true) and "criterions" or
        ((k:find("Net$") or k == "CNNBaseline" or k == "Decoder") and "models" or "layers")
      groups[g][#groups[g] + 1] = k
    elseif type(v) == "table" then groups.libraries[#groups.libraries + 1] = k
    elseif type(v) == "function" then groups.functions[#groups.functions + 1] = k end
  end
  local out = {"capsrun: capsule networks in Lua, with the math in C. help(x) says what x is.", ""}
  for _, g in ipairs{"models", "layers", "criterions", "libraries", "functions"} do
    table.sort(groups[g])
    out[#out + 1] = ("%-11s %s"):format(g .. ":", table.concat(groups[g], ", "))
  end
  out[#out + 1] = ""
  out[#out + 1] = "A trained model: local model, decoder = capsrun.load(\"runs/classify/capsnet.tensors\")"
  out[#out + 1] = "Experiments: capsrun experiments/classify.lua --help (and the other scripts in experiments/)"
  return table.concat(out, "\n")
end

--- text(capsrun, x) -> the help text of x (the overview without x)
local function text(capsrun, x)
  if x == nil then return overview(capsrun) end
  if type(x) == "function" then return doc_of_function(x) or "a function (no documentation found)" end
  if type(x) == "table" and type(rawget(x, "new")) == "function" and not is_class(x) and not bases[x] then
    local doc = doc_of_function(x.new)
    if not doc then   -- the file's opening comment
      local lines = lines_of(debug.getinfo(x.new, "S").source)
      local n = 1
      while lines and lines[n] and lines[n]:match("^%-%-") do n = n + 1 end
      doc = lines and comment_above(lines, n)
    end
    return (doc or "") .. "\nbuild one with .new{...}; a trained one with capsrun.load(path)"
  end
  if is_class(x) then
    local out = {("%s (class; %s)"):format(x.__name, table.concat(ancestry(x), " < ")),
      doc_of_class(x) or "", "methods: " .. table.concat(methods_of(x), ", ")}
    return table.concat(out, "\n")
  end
  if type(x) == "table" and getmetatable(x) and is_class(getmetatable(x)) then
    local cls = getmetatable(x)
    local out = {tostring(x), "", ("an instance of %s; help(capsrun.%s) for its documentation"):format(cls.__name,
      cls.__name)}
    if type(x.num_parameters) == "function" then out[#out + 1] = ("%d parameters"):format(x:num_parameters()) end
    out[#out + 1] = "methods: " .. table.concat(methods_of(cls), ", ")
    return table.concat(out, "\n")
  end
  if type(x) == "table" then
    local names = {}
    for k, v in pairs(x) do if type(v) == "function" then names[#names + 1] = k end end
    table.sort(names)
    local out = {}
    for _, k in ipairs(names) do
      local d = doc_of_function(x[k])
      out[#out + 1] = ("  %-22s %s"):format(k, d and d:match("^[^\n]*") or "")
    end
    return "functions:\n" .. table.concat(out, "\n")
  end
  if type(x) == "userdata" and x.size then
    return ("a tensor of shape (%s); methods as in the README's API list"):format(table.concat(x:size(), ", "))
  end
  return ("a %s: %s"):format(type(x), tostring(x))
end

return function(capsrun)
  bases = {[capsrun.Module] = "Module", [capsrun.Criterion] = "Criterion"}
  return {
    text = function(x) return text(capsrun, x) end,
    help = function(x) print(text(capsrun, x)) end,
  }
end
