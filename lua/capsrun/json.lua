--- JSON for the board's API: encode Lua values, decode request bodies
-- strictly (an error names the position and what was expected).
--   json.encode({runs = json.array{}, n = 3})   --> {"n":3,"runs":[]}
--   json.decode('{"image": [0, 0.5]}')          --> {image = {0, 0.5}}
-- Tables with a positive length, or marked by json.array, are arrays; other
-- tables are objects (keys sorted, so the output is deterministic). NaN and
-- infinities, which JSON cannot hold, are written as null.
local json = {}

local ARRAY = {}

--- array(t) -> t, marked to be written as an array even when empty
function json.array(t)
  return setmetatable(t or {}, ARRAY)
end

local escapes = {['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n", ["\r"] = "\\r",
                 ["\t"] = "\\t"}

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return escapes[c] or ("\\u%04x"):format(c:byte()) end) .. '"'
end

local encode_value

local function encode_table(t, out, depth)
  if depth > 64 then error("json.encode: nested deeper than 64 levels", 0) end
  if getmetatable(t) == ARRAY or #t > 0 then
    out[#out + 1] = "["
    for i = 1, #t do
      if i > 1 then out[#out + 1] = "," end
      encode_value(t[i], out, depth + 1)
    end
    out[#out + 1] = "]"
    return
  end
  local keys = {}
  for k in pairs(t) do
    if type(k) ~= "string" then error("json.encode: object keys must be strings, got a " .. type(k), 0) end
    keys[#keys + 1] = k
  end
  table.sort(keys)
  out[#out + 1] = "{"
  for i, k in ipairs(keys) do
    if i > 1 then out[#out + 1] = "," end
    out[#out + 1] = quote(k)
    out[#out + 1] = ":"
    encode_value(t[k], out, depth + 1)
  end
  out[#out + 1] = "}"
end

function encode_value(v, out, depth)
  local kind = type(v)
  if v == nil then out[#out + 1] = "null"
  elseif kind == "boolean" then out[#out + 1] = tostring(v)
  elseif kind == "number" then
    if v ~= v or v == math.huge or v == -math.huge then out[#out + 1] = "null"
    elseif math.type(v) == "integer" then out[#out + 1] = ("%d"):format(v)
    else out[#out + 1] = ("%.14g"):format(v) end
  elseif kind == "string" then out[#out + 1] = quote(v)
  elseif kind == "table" then encode_table(v, out, depth)
  else error("json.encode: cannot encode a " .. kind, 0) end
end

--- encode(value) -> JSON text
function json.encode(v)
  local out = {}
  encode_value(v, out, 0)
  return table.concat(out)
end

-- decoding: a cursor over the text
local function fail(s, i, what)
  error(("json: %s expected at position %d, found %s"):format(what, i,
    i > #s and "the end of the text" or ("'%s'"):format(s:sub(i, i + 9))), 0)
end

local function skip(s, i) return s:find("[^ \t\r\n]", i) or #s + 1 end

local decode_value

local function decode_string(s, i)
  local out, j = {}, i + 1
  while true do
    local c = s:sub(j, j)
    if c == "" then fail(s, j, "a closing quote") end
    if c == '"' then return table.concat(out), j + 1 end
    if c == "\\" then
      local e = s:sub(j + 1, j + 1)
      local simple = ({['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t"})[e]
      if simple then out[#out + 1] = simple; j = j + 2
      elseif e == "u" then
        local hex = s:match("^%x%x%x%x", j + 2)
        if not hex then fail(s, j, "four hex digits after \\u") end
        out[#out + 1] = utf8.char(tonumber(hex, 16))
        j = j + 6
      else fail(s, j, "an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)") end
    elseif c:byte() < 32 then fail(s, j, "no control character in a string")
    else
      local k = s:find('["\\%c]', j) or #s + 1
      out[#out + 1] = s:sub(j, k - 1)
      j = k
    end
  end
end

local function decode_list(s, i, depth, close, item)
  i = skip(s, i + 1)
  if s:sub(i, i) == close then return i + 1 end
  while true do
    i = skip(s, item(i))
    local c = s:sub(i, i)
    if c == close then return i + 1 end
    if c ~= "," then fail(s, i, "',' or '" .. close .. "'") end
    i = skip(s, i + 1)
  end
end

function decode_value(s, i, depth)
  if depth > 64 then error(("json: nested deeper than 64 levels at position %d"):format(i), 0) end
  i = skip(s, i)
  local c = s:sub(i, i)
  if c == "{" then
    local t = {}
    return t, decode_list(s, i, depth, "}", function(j)
      if s:sub(j, j) ~= '"' then fail(s, j, "a string key") end
      local k, n = decode_string(s, j)
      n = skip(s, n)
      if s:sub(n, n) ~= ":" then fail(s, n, "':'") end
      local v
      v, n = decode_value(s, n + 1, depth + 1)
      t[k] = v
      return n
    end)
  elseif c == "[" then
    local t, n = json.array{}, 0
    return t, decode_list(s, i, depth, "]", function(j)
      local v
      v, j = decode_value(s, j, depth + 1)
      n = n + 1
      t[n] = v
      return j
    end)
  elseif c == '"' then return decode_string(s, i)
  elseif s:find("^true", i) then return true, i + 4
  elseif s:find("^false", i) then return false, i + 5
  elseif s:find("^null", i) then return nil, i + 4
  end
  local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
  if not num or not tonumber(num) then fail(s, i, "a value") end
  return tonumber(num), i + #num
end

--- decode(text) -> value; an error says where the text stops being JSON
function json.decode(s)
  if type(s) ~= "string" then error("json: text expected, got a " .. type(s), 0) end
  local v, i = decode_value(s, 1, 0)
  i = skip(s, i)
  if i <= #s then fail(s, i, "the end of the text") end
  return v
end

return json
