--- The capsule explorer behind the board: a weights file's model and
-- decoder, an image in, and out what the paper's figures show: the class
-- capsules' lengths, the routing's coupling coefficients at every
-- iteration over the primary-capsule grid, the class capsules themselves,
-- and the decoder's reconstruction, which reconstruct() redraws from any
-- capsule vector (the sliders). For EM models: activations and poses.
local native = require "capsrun.native"
local train = require "capsrun.train"
local preprocess = require "capsrun.preprocess"

local explorer = {}
local Explorer = {}
Explorer.__index = Explorer

--- new(path) -> an explorer of the model in this weights file (errors name the file)
function explorer.new(path)
  local model, decoder, config = train.load_model(path)
  model:evaluate()
  local self = setmetatable({path = path, model = model, decoder = decoder, config = config}, Explorer)
  self.kind = config.kind or "capsnet"
  self.classes = config.classes
  self.input = config.input
  self.names = config.class_names
  return self
end

--- summary() -> what the page needs to know about the model
function Explorer:summary()
  local names = {}
  for c = 1, self.classes do names[c] = self.names and self.names[c] or tostring(c - 1) end
  return {path = self.path, kind = self.kind, classes = self.classes, input = self.input, class_names = names,
    dataset = self.config.dataset, decoder = self.decoder ~= nil,
    capsule_dim = self.decoder and self.decoder.dim or nil, routing = self.model.digitcaps and self.model.digitcaps.coupling
      and self.model.digitcaps.routing_iters or nil}
end

--- image_from(pixels (list of numbers), h, w, channels, digits) -> the model's (1, c, h, w) input and a note
function Explorer:image_from(pixels, h, w, channels, digits)
  local c = self.input[1]
  if channels ~= c then
    error(("the model reads %d-channel images, got %d channels"):format(c, channels), 0)
  end
  local img = native.new(pixels):reshape(c == 1 and {h, w} or {c, h, w})
  local x, note = preprocess.to_input(img, self.input, digits)
  return x:reshape(1, table.unpack(self.input)), note
end

--- list(t) -> t's values, flattened, as a Lua list (what the JSON API sends)
function explorer.list(t) return t:reshape(t:numel()):totable() end
local list = explorer.list

-- the coupling coefficients (1, iters, I, J) averaged over the capsule types
-- at each grid position: maps[iteration][class] = {h*w values}
local function coupling_maps(c, cfg)
  local iters, I, J = c:size(2), c:size(3), c:size(4)
  local types, hw = cfg.primary_types, cfg.h2 * cfg.w2
  if not types or types * hw ~= I then return nil end
  local flat = c:reshape(iters * I * J)
  local maps = {}
  for r = 1, iters do
    maps[r] = {}
    for j = 1, J do
      local m = {}
      for p = 1, hw do
        local s = 0
        for t = 0, types - 1 do s = s + flat:get(((r - 1) * I + t * hw + p - 1) * J + j) end
        m[p] = s / types
      end
      maps[r][j] = m
    end
  end
  return {iterations = iters, h = cfg.h2, w = cfg.w2, types = types, maps = maps}
end

--- explore(x (1, c, h, w)) -> {lengths, predicted, capsules, coupling, reconstruction, input}
function Explorer:explore(x)
  local out = self.model:forward(x)
  local result = {input = list(x)}
  if self.kind == "em" then                      -- class capsules (1, J, 1, 1, 17): a 4x4 pose and an activation
    local J = out:size(2)
    local caps = out:reshape(J, 17)
    result.lengths, result.poses = {}, {}
    for j = 1, J do
      local row = list(caps:narrow(j, 1))
      result.lengths[j] = row[17]
      result.poses[j] = {table.unpack(row, 1, 16)}
    end
    result.activations = result.lengths
  elseif out:dim() == 3 then                    -- class capsules (1, J, D)
    local J, D = out:size(2), out:size(3)
    result.capsules = {}
    local v = out:reshape(J, D)
    for j = 1, J do result.capsules[j] = list(v:narrow(j, 1):reshape(D)) end
    result.lengths = {}
    for j = 1, J do result.lengths[j] = v:narrow(j, 1):norm() end
  else                                            -- logits of the CNN
    result.lengths = list(out:reshape(out:numel()))
  end
  local best = 1
  for j = 2, #result.lengths do if result.lengths[j] > result.lengths[best] then best = j end end
  result.predicted = best - 1
  local dc = self.model.digitcaps
  if dc and dc.coupling and dc.route_ws and dc.route_ws.coupling then
    result.coupling = coupling_maps(dc:coupling(), self.model.config)
  end
  if self.decoder and result.capsules then
    result.reconstruction = list(self.decoder:forward(out, native.new{best - 1}))
  end
  return result
end

--- reconstruct(class (0-based), capsule (list of D numbers)) -> pixels: the
-- decoder's image from this class capsule alone (the others zero, as the
-- decoder's mask makes them)
function Explorer:reconstruct(class, capsule)
  if not self.decoder then
    error(("%s has no decoder: train one with experiments/reconstruct.lua"):format(self.path), 0)
  end
  local J, D = self.classes, self.decoder.dim
  if math.type(class) ~= "integer" or class < 0 or class >= J then
    error(("class must be an integer in [0, %d]"):format(J - 1), 0)
  end
  if type(capsule) ~= "table" or #capsule ~= D then
    error(("capsule must be a list of %d numbers"):format(D), 0)
  end
  local v = native.zeros(1, J, D)
  for d = 1, D do
    local x = capsule[d]
    if type(x) ~= "number" or x ~= x or math.abs(x) > 100 then
      error(("capsule[%d] must be a finite number within [-100, 100]"):format(d), 0)
    end
    v:set(1, class + 1, d, x)
  end
  return list(self.decoder:forward(v, native.new{class}))
end

return explorer
