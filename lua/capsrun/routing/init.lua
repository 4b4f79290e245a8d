--- Routings written in Lua with capsrun.autograd ops, by name. Each is a
-- function(uhat, iters, opts) -> v: predictions uhat (B, I, J, D) Var ->
-- parent capsules (B, J, D) Var. Add your own: routing.register("mine", fn).
-- A routing with learned parameters of its own is a table {route = fn(uhat,
-- iters, p), params = fn(I, J, D) -> {name = initial tensor}}; RoutedCaps
-- registers them as its parameters and passes them as p.<name> (Vars).
local routing = {
  ["dynamic-lua"] = require "capsrun.routing.dynamic",
  ["dynamic-lua-detach"] = function(uhat, iters) return require("capsrun.routing.dynamic")(uhat, iters, {detach = true}) end,
  ["self-attention"] = require "capsrun.routing.self_attention",
  ["inverted-dot"] = require "capsrun.routing.inverted_dot",
}

--- names() -> the sorted names of the routings ("dynamic", the C kernel, first)
function routing.names()
  local out = {}
  for k, v in pairs(routing) do
    if (type(v) == "function" or type(v) == "table") and k ~= "names" and k ~= "register" then out[#out + 1] = k end
  end
  table.sort(out)
  table.insert(out, 1, "dynamic")
  return out
end

--- register(name, fn): a routing of your own, usable as CapsNet{routing = name}
function routing.register(name, fn)
  if type(name) ~= "string" or (type(fn) ~= "function" and not (type(fn) == "table" and type(fn.route) == "function")) then
    error("routing.register: a name and a function (or a table with route and params) expected", 2)
  end
  routing[name] = fn
end

return routing
