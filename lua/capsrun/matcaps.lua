--- Matrix capsules with EM routing (Hinton, Sabour & Frosst 2018):
-- PrimaryMatCaps, ConvCaps, ClassCaps and MatActivations (the class scores).
-- A capsule grid is a (b, T, H, W, 17) tensor: T capsule types on an H x W
-- grid, each a 4x4 pose matrix (row-major) followed by its activation.
-- The math is in native/kernels/matcaps.c and em_route.c; docs/em.md says
-- which choices the paper leaves open and what capsrun took.
local native = require "capsrun.native"
local Module = require "capsrun.Module"
local random = require "capsrun.random"
local layers = require "capsrun.layers"

local matcaps = {}

local check_int = layers.check_int

--- PrimaryMatCaps(in_channels, types [, gen]): a 1x1 convolution to a 4x4
-- pose per type and position, and another to one sigmoid activation per
-- type and position. (b, in, H, W) -> (b, types, H, W, 17)
local PrimaryMatCaps = Module.class("PrimaryMatCaps")
matcaps.PrimaryMatCaps = PrimaryMatCaps

function PrimaryMatCaps.new(in_ch, types, gen)
  check_int("PrimaryMatCaps", "types", types, 1)
  gen = gen or random.default()
  local self = Module.new(PrimaryMatCaps)
  self.types = types
  self:add_child("pose", layers.Conv2d.new(in_ch, 16 * types, 1, 1, 0, gen))
  self:add_child("activation", layers.Conv2d.new(in_ch, types, 1, 1, 0, gen))
  self:add_child("sigmoid", layers.Sigmoid.new())
  self.pack_ws = {}
  return self
end

function PrimaryMatCaps:forward(input)
  local pose = self.pose:forward(input)                             -- (b, 16T, H, W)
  local act = self.sigmoid:forward(self.activation:forward(input))  -- (b, T, H, W)
  self.output = native.matcaps_pack(pose, act, self.ws)             -- (b, T, H, W, 17)
  return self.output
end

function PrimaryMatCaps:backward(input, grad_output)
  local gpose, gact = native.matcaps_unpack(grad_output, self.pack_ws)
  gact = self.sigmoid:backward(self.activation.output, gact)
  local gin = self.activation:backward(input, gact)
  self.grad_input = nil
  if gin then   -- kept apart from the activation conv's own buffer, which the pose conv's backward would not touch
    local buf = self.grad_buf
    if not buf or buf:numel() ~= gin:numel() then buf = gin:clone(); self.grad_buf = buf
    else buf:copy_(gin) end
    self.grad_input = buf
  end
  local gin_pose = self.pose:backward(input, gpose)
  if self.grad_input then self.grad_input:add_(gin_pose) end
  return self.grad_input
end

function PrimaryMatCaps:describe()
  return ("PrimaryMatCaps(%d -> %d types of 4x4 poses)"):format(self.pose.in_channels, self.types)
end

-- the routing settings every EM layer shares; routing_iters, final_lambda
-- and var_eps are plain fields that scripts may change between calls
local function init_routing(self, in_types, out_types, blocks, iters, opts, gen)
  opts = opts or {}
  check_int(self.__name, "in_types", in_types, 1)
  check_int(self.__name, "out_types", out_types, 1)
  self.in_types, self.out_types = in_types, out_types
  self.routing_iters = iters or 3
  self.final_lambda = opts.final_lambda or 1.0   -- the authors' 0.01 on a cost scaled by 100 (docs/em.md)
  self.var_eps = opts.var_eps or 1e-4
  self.detach_assignments = opts.detach_assignments or false   -- true: no gradient through the E-steps
  self.e_temperature = opts.e_temperature or 1.0   -- < 1 softens the E-step (not in the paper; docs/em.md)
  self:add_parameter("weight", native.zeros(blocks, out_types, 4, 4)
    :normal_(gen or random.default(), 0, opts.init_std or 0.5))
  self:add_parameter("beta_a", native.zeros(out_types))
  self:add_parameter("beta_v", native.zeros(out_types))
  self.votes_ws, self.route_ws = {}, {}
end

local function check_iters(self)
  local iters = self.routing_iters
  if math.type(iters) ~= "integer" or iters < 1 then
    error(("%s: routing_iters must be a positive integer, got %s"):format(self.__name, tostring(iters)), 3)
  end
  return iters
end

-- votes, then EM routing; kh, kw, stride describe the patches
local function route_forward(self, input, kh, kw, stride, shared, coord_add)
  local iters = check_iters(self)
  self.geometry = {kh, kw, stride, shared}
  self.votes = native.matcaps_votes_forward(input, self.weight, kh, kw, stride, shared, coord_add,
    self.votes_ws)                                                   -- (b, P, N, J, 16)
  self.output = native.em_route_forward(self.votes, input, self.beta_a, self.beta_v, kh, kw, stride,
    iters, self.final_lambda, self.var_eps, self.route_ws, self.detach_assignments,
    self.e_temperature)                                              -- (b, J, OH, OW, 17)
  return self.output
end

local function route_backward(self, input, grad_output)
  if not self.geometry or not self.votes then error(self.__name .. ":backward: call forward first", 2) end
  local kh, kw, stride, shared = table.unpack(self.geometry)
  local gvotes, gcaps = native.em_route_backward(self.votes, input, self.beta_a, self.beta_v, grad_output,
    self.grad_beta_a, self.grad_beta_v, kh, kw, stride, self.route_ws)
  self.grad_input = native.matcaps_votes_backward(input, self.weight, gvotes, self.grad_weight, kh, kw,
    stride, shared, gcaps)
  return self.grad_input
end

--- ConvCaps(in_types, out_types, kernel, stride [, routing_iters 3] [, gen] [, opts]):
-- a convolutional capsule layer: each child in a kernel x kernel patch votes
-- for every parent type with its own 4x4 matrix per patch offset, then EM
-- routing, where parents at neighbouring positions compete for children.
-- opts: final_lambda (1), var_eps (1e-4), init_std (0.5), e_temperature (1),
-- detach_assignments (false).
-- (b, in_types, H, W, 17) -> (b, out_types, (H-k)//s+1, (W-k)//s+1, 17)
local ConvCaps = Module.class("ConvCaps")
matcaps.ConvCaps = ConvCaps

function ConvCaps.new(in_types, out_types, kernel, stride, routing_iters, gen, opts)
  check_int("ConvCaps", "kernel", kernel, 1)
  check_int("ConvCaps", "stride", stride, 1)
  local self = Module.new(ConvCaps)
  self.kernel, self.stride = kernel, stride
  init_routing(self, in_types, out_types, kernel * kernel * in_types, routing_iters, opts, gen)
  return self
end

function ConvCaps:forward(input)
  return route_forward(self, input, self.kernel, self.kernel, self.stride, false, false)
end

ConvCaps.backward = route_backward

function ConvCaps:describe()
  return ("ConvCaps(%d -> %d types, %dx%d stride %d, %d EM iterations)"):format(self.in_types,
    self.out_types, self.kernel, self.kernel, self.stride, self.routing_iters)
end

--- ClassCaps(in_types, classes [, routing_iters 3] [, gen] [, opts]): one
-- capsule per class over the whole grid; the transformation matrices are
-- shared across positions, and each vote gets its child's scaled position
-- (row, column) added to the first two entries of its right-hand column
-- (coordinate addition; opts.coord_add = false turns it off).
-- (b, in_types, H, W, 17) -> (b, classes, 1, 1, 17)
local ClassCaps = Module.class("ClassCaps")
matcaps.ClassCaps = ClassCaps

function ClassCaps.new(in_types, classes, routing_iters, gen, opts)
  local self = Module.new(ClassCaps)
  init_routing(self, in_types, classes, in_types, routing_iters, opts, gen)
  self.coord_add = not (opts and opts.coord_add == false)
  return self
end

function ClassCaps:forward(input)
  if input:dim() ~= 5 then
    error(("ClassCaps: capsule grid (b, T, H, W, 17) expected, got %d dimensions"):format(input:dim()), 2)
  end
  local _, _, h, w = table.unpack(input:size())
  return route_forward(self, input, h, w, 1, true, self.coord_add)
end

ClassCaps.backward = route_backward

function ClassCaps:describe()
  return ("ClassCaps(%d types -> %d classes, %d EM iterations%s)"):format(self.in_types, self.out_types,
    self.routing_iters, self.coord_add and ", coordinate addition" or "")
end

--- MatActivations(): the activations of a capsule grid, the class scores
-- of a matrix-capsule network. (b, T, H, W, 17) -> (b, T*H*W)
local MatActivations = Module.class("MatActivations")
matcaps.MatActivations = MatActivations

function MatActivations.new() return Module.new(MatActivations) end

function MatActivations:forward(input)
  local _, act = native.matcaps_unpack(input, self.ws)
  self.output = act:reshape(act:size(1), -1)
  return self.output
end

function MatActivations:backward(input, grad_output)
  local s = input:size()
  self.grad_input = native.matcaps_pack(nil, grad_output:reshape(s[1], s[2], s[3], s[4]), self.ws)
  return self.grad_input
end

return matcaps
