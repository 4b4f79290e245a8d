--- Training and evaluation of a capsule classifier: one step, one epoch,
-- and an evaluation helper. A classifier is the model (images -> digit
-- capsules), a Length module and a MarginLoss criterion.
local native = require "capsrun.native"
local capsules = require "capsrun.capsules"
local criterions = require "capsrun.criterions"
local data = require "capsrun.data"
local dist = require "capsrun.dist"

local train = {}

--- classifier(model [, loss_opts]) -> {model, head, criterion}: the head turns
-- the model's output into class scores. A capsule model: Length (capsule
-- lengths) and the margin loss; a model with kind "cnn" (CNNBaseline): its
-- logits as they are, and softmax cross-entropy; kind "em" (MatrixCapsNet):
-- the class capsules' activations and the spread loss.
function train.classifier(model, loss_opts)
  if model.kind == "cnn" or model.outputs == "logits" then
    return {model = model, criterion = criterions.CrossEntropyLoss.new()}
  end
  if model.kind == "em" then
    local matcaps = require "capsrun.matcaps"
    return {model = model, head = matcaps.MatActivations.new(), criterion = criterions.SpreadLoss.new(loss_opts)}
  end
  return {model = model, head = capsules.Length.new(), criterion = criterions.MarginLoss.new(loss_opts)}
end

-- class scores of a forward output, through the head if there is one
local function scores_of(clf, out)
  return clf.head and clf.head:forward(out) or out
end

--- autoencoder(model, decoder [, opts]) -> a classifier whose loss adds
-- opts.recon_weight (0.0005) x the per-image sum of squared pixel errors,
-- batch-averaged, with the decoder masked by the true label in training
function train.autoencoder(model, decoder, opts)
  opts = opts or {}
  local clf = train.classifier(model, opts.loss)
  clf.decoder, clf.recon_weight = decoder, opts.recon_weight or 0.0005
  clf.recon_criterion = criterions.SSELoss.new()
  return clf
end

-- reconstruction loss and its gradient for images (b, c, h, w)
local function reconstruction(clf, v, images, index)
  local recon = clf.decoder:forward(v, index)                         -- (b, pixels)
  local target = images:reshape(images:size(1), -1)
  local sse = clf.recon_criterion:forward(recon, target)            -- mean over b of sum over pixels
  local grad = clf.recon_criterion:backward(recon, target)
  return sse, grad, recon
end

--- correct(scores (b, J), labels (b)) -> number of rows whose highest score
-- (longest capsule, largest logit) is the label
function train.correct(scores, labels)
  local pred = scores:argmax()
  local n = 0
  for i = 1, pred:numel() do
    if pred:get(i) == labels:get(i) then n = n + 1 end
  end
  return n
end

-- forward and backward of one (shard of a) batch: gradients accumulate
-- into the parameters' buffers; returns loss, number correct, sse. The
-- shard is rows first + 1 .. of a batch of n (first = 0 in one process).
local function forward_backward(clf, images, labels, first, n)
  if clf.forward_backward then return clf:forward_backward(images, labels, first, n) end
  local model = clf.model
  local v = model:forward(images)                         -- capsules (b, J, D) or logits (b, J)
  local scores = scores_of(clf, v)                        -- (b, J)
  local loss = clf.criterion:forward(scores, labels)
  local gscores = clf.criterion:backward(scores, labels)
  local gv = clf.head and clf.head:backward(v, gscores) or gscores
  local sse
  if clf.decoder then
    local grad
    sse, grad = reconstruction(clf, v, images, labels)
    loss = loss + clf.recon_weight * sse
    gv:add_(clf.decoder:backward(v, grad:mul_(clf.recon_weight)))
  end
  model:backward(images, gv)
  return loss, train.correct(scores, labels), sse
end

-- rows first .. first+count-1 of a batch: a tensor, or a table of tensors
-- of one row per example (multimnist.lua's pairs: images, labels, digits)
local function narrow_batch(batch, first, count)
  if type(batch) ~= "table" then return batch:narrow(first, count) end
  local part = {n = count}
  for k, t in pairs(batch) do
    if k ~= "n" then part[k] = t:narrow(first, count) end
  end
  return part
end

--- step(clf, optimizer, images, labels) -> loss, number correct, sse
-- (sse: per-image sum of squared reconstruction errors, for autoencoders).
-- Under MPI each rank takes its shard of the batch and the gradients are
-- averaged with one allreduce, so every rank makes the update that one
-- process would make for the whole batch; the figures returned are global.
-- clf.forward_backward(clf, batch, labels, first, n) -> loss, correct, sse,
-- when present, replaces the classifier's own forward and backward (its
-- batch: rows first + 1 .. first + count of the whole batch of n). With
-- clf.collective (a forward that communicates across ranks: the stacked
-- capsule autoencoder's batch-wide terms) a batch smaller than the number
-- of ranks, which would leave a rank out, is skipped.
function train.step(clf, optimizer, images, labels)
  if optimizer.total_steps then
    -- the spread loss's margin rises, and an annealed E-step temperature
    -- moves to its final value, over the first half of the run (docs/em.md)
    local f = optimizer.step_count / math.max(1, optimizer.total_steps / 2)
    if clf.criterion.set_progress then clf.criterion:set_progress(f) end
    if clf.model.set_progress then clf.model:set_progress(f) end
  end
  clf.model:zero_grad()
  if clf.decoder then clf.decoder:zero_grad() end
  local n, size = labels:size(1), dist.size()
  if size == 1 then
    local loss, correct, sse = forward_backward(clf, images, labels, 0, n)
    optimizer:step()
    return loss, correct, sse
  end
  if clf.collective and n < size then return 0, 0, nil end
  local first, count = dist.shard(n)
  local loss, correct, sse = 0, 0, 0
  if count > 0 then
    loss, correct, sse = forward_backward(clf, narrow_batch(images, first + 1, count), labels:narrow(first + 1, count),
      first, n)
  end
  local share = count * size / n                          -- a shard's mean -> its part of the batch mean
  for _, g in ipairs(optimizer.grads) do g:mul_(share) end
  dist.allreduce_grads_(optimizer.grads, "mean")
  local totals = dist.sum({loss * count / n, correct, (sse or 0) * count / n})
  optimizer:step()
  return totals[1], totals[2], clf.decoder and totals[3] or nil
end

--- predict(clf, set [, batch_size]) -> {class, ...}: the predicted class
-- (0-based) of every image of set, in order, batch by batch in evaluation mode
function train.predict(clf, set, batch_size)
  clf.model:evaluate()
  local out = {}
  for images in data.batches(set, batch_size or 100) do
    local pred = scores_of(clf, clf.model:forward(images)):argmax()
    for i = 1, pred:size(1) do out[#out + 1] = math.tointeger(pred:get(i)) end
  end
  clf.model:train()
  return out
end

--- evaluate(clf, set, batch_size) -> accuracy in [0, 1], mean loss,
-- for autoencoders the mean per-pixel squared reconstruction error with
-- the decoder masked by the longest (predicted) capsule (else nil), and
-- the number of images predicted as each class {[class] = count}
function train.evaluate(clf, set, batch_size)
  clf.model:evaluate()
  local correct, loss_sum, sse_sum, pixels = 0, 0, 0, 1
  local classes = set.classes
  local counts = {}
  local full = set
  if dist.size() > 1 then                                 -- each rank evaluates its slice
    local first, count = dist.shard(set.n)
    set = {n = count, images = count > 0 and set.images:narrow(first + 1, count),
           labels = count > 0 and set.labels:narrow(first + 1, count)}
  end
  for images, labels, n in (set.n > 0 and data.batches(set, batch_size or 100) or function() end) do
    local v = clf.model:forward(images)
    local scores = scores_of(clf, v)
    loss_sum = loss_sum + clf.criterion:forward(scores, labels) * n
    correct = correct + train.correct(scores, labels)
    local pred = scores:argmax()
    for i = 1, n do
      local c = math.tointeger(pred:get(i))
      counts[c] = (counts[c] or 0) + 1
    end
    if clf.decoder then
      local sse, _, recon = reconstruction(clf, v, images, nil)
      sse_sum, pixels = sse_sum + sse * n, recon:size(2)
    end
  end
  clf.model:train()
  if dist.size() > 1 then
    local t = dist.sum({correct, loss_sum, sse_sum, pixels * (set.n > 0 and 1 or 0)})
    correct, loss_sum, sse_sum = t[1], t[2], t[3]
    pixels = full.images:numel() // full.n
    local k = {}
    for c = 0, (classes or full.classes or 1) - 1 do k[c + 1] = counts[c] or 0 end
    k = dist.sum(k)
    counts = {}
    for c, v in ipairs(k) do if v > 0 then counts[c - 1] = math.tointeger(v) or v end end
  end
  return correct / full.n, loss_sum / full.n, clf.decoder and sse_sum / full.n / pixels or nil, counts
end

--- epoch(clf, optimizer, set, opts) -> mean loss, train accuracy, mean per-pixel
-- squared reconstruction error (autoencoders)
-- opts: batch, gen (shuffling and shifts), shift, on_batch(done, total, loss),
-- order and start (to resume an epoch: its order and the images already done).
-- Sets opts.order to the epoch's order, so that on_batch can checkpoint it.
-- opts.batches(start) -> an iterator of (batch, labels, n) replaces the set's
-- shuffled images, for examples drawn afresh (multimnist.lua's pairs): then
-- set.n counts the examples of an epoch, set.pixels the pixels of one
-- reconstruction, and the batch may be a table of tensors, which
-- clf.forward_backward takes (see train.step). opts.prepare(images) ->
-- images transforms each whole batch before train.step splits it (random
-- placements drawn for the batch, so every rank draws what one process does).
-- The means cover the images of this call only.
function train.epoch(clf, optimizer, set, opts)
  local loss_sum, correct, seen, sse_sum = 0, 0, 0, 0
  local pixels = set.pixels or set.images:numel() // set.n
  local done = opts.start or 0
  local batches
  if opts.batches then
    batches = opts.batches(done)
  else
    opts.order = opts.order or (opts.gen and opts.gen:permutation(set.n))
    batches = data.batches(set, opts.batch, {gen = opts.gen, shift = opts.shift, flip = opts.flip,
                                             order = opts.order, start = done})
  end
  for images, labels, n in batches do
    if opts.prepare then images = opts.prepare(images) end   -- the whole batch, the same on every rank
    local loss, c, sse = train.step(clf, optimizer, images, labels)
    if loss ~= loss or math.abs(loss) == math.huge then
      error(("training diverged: loss is %s at step %d (epoch image %d); parameters not saved"):format(
        tostring(loss), optimizer.step_count, done), 0)
    end
    sse_sum = sse_sum + (sse or 0) * n
    loss_sum, correct, seen, done = loss_sum + loss * n, correct + c, seen + n, done + n
    if opts.on_batch then opts.on_batch(done, set.n, loss) end
  end
  seen = math.max(seen, 1)
  return loss_sum / seen, correct / seen, clf.decoder and sse_sum / seen / pixels or nil
end

--- named_buffers(model) -> {{name, buffer}, ...} of a model or {model, decoder} pair
function train.named_buffers(model)
  if not model.decoder then return model:named_buffers() end
  local out = model.model:named_buffers()
  for _, e in ipairs(model.decoder:named_buffers()) do out[#out + 1] = {name = "decoder." .. e.name, buffer = e.buffer} end
  return out
end

--- named(model) -> {{name, param, grad}, ...} of a model, or of a
-- {model = m, decoder = d} pair (decoder names prefixed "decoder.")
function train.named(model)
  if not model.decoder then return model:named_parameters() end
  local out = model.model:named_parameters()
  for _, e in ipairs(model.decoder:named_parameters()) do
    out[#out + 1] = {name = "decoder." .. e.name, param = e.param, grad = e.grad}
  end
  return out
end

local CONFIG_KEYS = {"classes", "conv_channels", "conv_kernel", "primary_types", "primary_dim",
  "primary_kernel", "primary_stride", "digit_dim", "routing_iters", "kernel", "dropout",
  "A", "B", "C", "D", "conv_stride", "final_lambda", "var_eps", "e_temperature", "e_temperature_final"}

-- the model's configuration as text lines: what load_model needs to rebuild it
local function config_text(model, extra)
  local c, lines = model.config or {}, {"kind=" .. (model.kind or "capsnet")}
  if c.input then lines[#lines + 1] = "input=" .. table.concat(c.input, "x") end
  for _, k in ipairs(CONFIG_KEYS) do
    if type(c[k]) == "number" then lines[#lines + 1] = ("%s=%s"):format(k, c[k]) end
  end
  if c.channels then lines[#lines + 1] = "channels=" .. table.concat(c.channels, ",") end
  if c.hidden then lines[#lines + 1] = "hidden=" .. table.concat(c.hidden, ",") end
  if c.pool and #c.pool > 0 then lines[#lines + 1] = "pool=" .. table.concat(c.pool, ",") end
  if c.routing and c.routing ~= "dynamic" then lines[#lines + 1] = "routing=" .. c.routing end
  local keys = {}   -- sorted: a checksum of a weights file must identify its content
  for k in pairs(extra or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = extra[k]
    if k == "class_names" then
      for i, name in ipairs(v) do lines[#lines + 1] = ("class.%d=%s"):format(i - 1, (name:gsub("\n", " "))) end
    else lines[#lines + 1] = ("%s=%s"):format(k, tostring(v)) end
  end
  return table.concat(lines, "\n") .. "\n"
end

--- config_of(text) -> the table a weights file's "config" entry describes
function train.config_of(text)
  local c, names = {}, {}
  for line in text:gmatch("[^\n]+") do
    local k, v = line:match("^([%w_%.]+)=(.*)$")
    local idx = k and tonumber(k:match("^class%.(%d+)$"))
    if idx then names[idx + 1] = v
    elseif k == "input" then
      c.input = {}
      for d in v:gmatch("%d+") do c.input[#c.input + 1] = tonumber(d) end
    elseif k == "channels" or k == "hidden" or k == "pool" then
      c[k] = {}
      for d in v:gmatch("%d+") do c[k][#c[k] + 1] = tonumber(d) end
    elseif k then c[k] = tonumber(v) or v end
  end
  if #names > 0 then c.class_names = names end
  return c
end

--- save(model, path [, extra]): the weights (named parameters), in capsrun's
-- tensor file format, with the model's configuration (input size, layers,
-- class names from extra.class_names, dataset from extra.dataset), so that
-- load_model can rebuild it. model may be a classifier or autoencoder (then
-- the decoder is saved too).
function train.save(model, path, extra)
  local t = {}
  for _, e in ipairs(train.named(model)) do t[e.name] = e.param end
  for _, e in ipairs(train.named_buffers(model)) do t[e.name] = e.buffer end
  extra = extra or {}
  if model.decoder then extra.decoder = "1" end
  t.config = config_text(model.decoder and model.model or model, extra)
  native.save_tensors(path, t)
end

local function describe(c)
  local ok, d = pcall(require("capsrun.models").for_kind, c.kind)
  return ("a %s on %s images with %s classes"):format(ok and d.name or tostring(c.kind),
    c.input and table.concat(c.input, "x") or "?", tostring(c.classes))
end

--- load(model, path): parameters from a weights file (train.save) or from a
-- training checkpoint (its "param.<name>" entries), checked name by name,
-- and against the configuration the weights file records, in plain words
function train.load(model, path)
  local t = native.load_tensors(path)
  if type(t.meta) == "string" and t.meta:find("format=capsrun%-checkpoint") then
    local params = {}
    for k, v in pairs(t) do
      local name = type(k) == "string" and (k:match("^param%.(.+)$") or k:match("^buffer%.(.+)$"))
      if name then params[name] = v end
    end
    t = params
  end
  local m = model.decoder and model.model or model
  if type(t.config) == "string" and m.config then
    local saved, ours = train.config_of(t.config), m.config
    ours = {kind = m.kind or "capsnet", input = ours.input, classes = ours.classes}
    if describe(saved) ~= describe(ours) then
      error(("load: %s holds the weights of %s; this model is %s"):format(path, describe(saved), describe(ours)), 2)
    end
  end
  for _, e in ipairs(train.named(model)) do
    local src = t[e.name]
    if not src then error(("load: %s has no tensor '%s'"):format(path, e.name), 2) end
    local a, b = table.concat(src:size(), "x"), table.concat(e.param:size(), "x")
    if a ~= b then error(("load: %s: '%s' is %s, the model expects %s"):format(path, e.name, a, b), 2) end
    e.param:copy_(src)
  end
  for _, e in ipairs(train.named_buffers(model)) do
    local src = t[e.name]
    if not src then error(("load: %s has no buffer '%s'"):format(path, e.name), 2) end
    if src:numel() ~= e.buffer:numel() then error(("load: %s: buffer '%s' has the wrong size"):format(path, e.name), 2) end
    e.buffer:copy_(src)
  end
end

--- load_model(path) -> model, decoder or nil, config: the model a weights
-- file describes (its config entry), built and loaded; no options needed
function train.load_model(path)
  local t = native.load_tensors(path)
  if type(t.config) ~= "string" then
    error(("load_model: %s records no model configuration (weights saved before this version: "
      .. "build the model yourself and use train.load)"):format(path), 2)
  end
  local c = train.config_of(t.config)
  local described = require("capsrun.models").for_kind(c.kind)
  local model = described.from_config(c)
  local decoder
  if c.decoder then
    local pixels = c.input[1] * c.input[2] * c.input[3]
    decoder = require("capsrun.Decoder").new(c.classes, described.capsule_dim(model), pixels)
    train.load({model = model, decoder = decoder}, path)
  else
    train.load(model, path)
  end
  return model, decoder, c
end

return train
