--- RoutedCaps(in_caps, in_dim, out_caps, out_dim, routing_iters, gen, route):
-- DigitCaps with the routing written in Lua: the predictions u_hat[j|i] =
-- W_ij u_i by the C kernel, then route(uhat, iters) (capsrun.routing), all on
-- a tape, so no backward is written. Its parameter is DigitCaps' "weight",
-- so weights files move between the two. (b, I, in_dim) -> (b, J, out_dim)
local native = require "capsrun.native"
local random = require "capsrun.random"
local TapeModule = require "capsrun.TapeModule"
local routing = require "capsrun.routing"

local RoutedCaps = TapeModule.class("RoutedCaps")

function RoutedCaps.new(in_caps, in_dim, out_caps, out_dim, routing_iters, gen, route)
  local self = TapeModule.new(RoutedCaps)
  self.in_caps, self.in_dim, self.out_caps, self.out_dim = in_caps, in_dim, out_caps, out_dim
  self.routing_iters = routing_iters or 3
  self.route_name = type(route) == "string" and route or "custom"
  local entry = type(route) == "string" and routing[route] or route or routing["dynamic-lua"]
  if type(entry) == "table" and type(entry.route) == "function" then
    self.route = entry.route
  else
    self.route = entry
  end
  if type(self.route) ~= "function" then
    error(("RoutedCaps: unknown routing '%s' (known: %s)"):format(tostring(route), table.concat(routing.names(), ", ")), 2)
  end
  self:add_parameter("weight", native.zeros(in_caps, out_caps, out_dim, in_dim):normal_(gen or random.default(), 0, 0.01))
  if type(entry) == "table" and entry.params then   -- the routing's own parameters, in name order
    local made, names = entry.params(in_caps, out_caps, out_dim), {}
    for name in pairs(made) do names[#names + 1] = name end
    table.sort(names)
    for _, name in ipairs(names) do self:add_parameter(name, made[name]) end
  end
  return self
end

function RoutedCaps:compute(u, p)
  local iters = self.routing_iters
  if math.type(iters) ~= "integer" or iters < 1 then
    error("RoutedCaps: routing_iters must be a positive integer, got " .. tostring(iters), 3)
  end
  return self.route(u:caps_predict(p.weight), iters, p)
end

function RoutedCaps:describe()
  return ("RoutedCaps(%d x %dD -> %d x %dD, %s routing in Lua, %d iterations)"):format(self.in_caps, self.in_dim,
    self.out_caps, self.out_dim, self.route_name, self.routing_iters)
end

return RoutedCaps
