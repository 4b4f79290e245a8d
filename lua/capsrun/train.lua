--- Training and evaluation of a capsule classifier: one step, one epoch,
-- and an evaluation helper. A classifier is the model (images -> digit
-- capsules), a Length module and a MarginLoss criterion.
local native = require "capsrun.native"
local capsules = require "capsrun.capsules"
local data = require "capsrun.data"

local train = {}

--- classifier(model [, loss_opts]) -> {model, length, criterion}
function train.classifier(model, loss_opts)
  return {model = model, length = capsules.Length.new(), criterion = capsules.MarginLoss.new(loss_opts)}
end

--- correct(lengths (b, J), labels (b)) -> number of rows whose longest capsule is the label
function train.correct(lengths, labels)
  local pred = lengths:argmax()
  local n = 0
  for i = 1, pred:numel() do
    if pred:get(i) == labels:get(i) then n = n + 1 end
  end
  return n
end

--- step(clf, optimizer, images, labels) -> loss, number correct
function train.step(clf, optimizer, images, labels)
  local model = clf.model
  model:zero_grad()
  local v = model:forward(images)                         -- (b, J, D)
  local lengths = clf.length:forward(v)                   -- (b, J)
  local loss = clf.criterion:forward(lengths, labels)
  local gv = clf.length:backward(v, clf.criterion:backward())
  model:backward(images, gv)
  optimizer:step()
  return loss, train.correct(lengths, labels)
end

--- evaluate(clf, set, batch_size) -> accuracy in [0, 1], mean margin loss
function train.evaluate(clf, set, batch_size)
  clf.model:evaluate()
  local correct, loss_sum = 0, 0
  for images, labels, n in data.batches(set, batch_size or 100) do
    local lengths = clf.length:forward(clf.model:forward(images))
    loss_sum = loss_sum + clf.criterion:forward(lengths, labels) * n
    correct = correct + train.correct(lengths, labels)
  end
  clf.model:train()
  return correct / set.n, loss_sum / set.n
end

--- epoch(clf, optimizer, set, opts) -> mean loss, train accuracy
-- opts: batch, gen (shuffling and shifts), shift, on_batch(done, total, loss)
function train.epoch(clf, optimizer, set, opts)
  local loss_sum, correct, done = 0, 0, 0
  for images, labels, n in data.batches(set, opts.batch, {gen = opts.gen, shift = opts.shift}) do
    local loss, c = train.step(clf, optimizer, images, labels)
    if loss ~= loss or loss == math.huge then
      error(("training diverged: loss is %s after %d images"):format(tostring(loss), done), 0)
    end
    loss_sum, correct, done = loss_sum + loss * n, correct + c, done + n
    if opts.on_batch then opts.on_batch(done, set.n, loss) end
  end
  return loss_sum / done, correct / done
end

--- save(model, path): the named parameters, in capsrun's tensor file format
function train.save(model, path)
  local t = {}
  for _, e in ipairs(model:named_parameters()) do t[e.name] = e.param end
  native.save_tensors(path, t)
end

--- load(model, path): parameters saved by train.save, checked name by name
function train.load(model, path)
  local t = native.load_tensors(path)
  for _, e in ipairs(model:named_parameters()) do
    local src = t[e.name]
    if not src then error(("load: %s has no tensor '%s'"):format(path, e.name), 2) end
    local a, b = table.concat(src:size(), "x"), table.concat(e.param:size(), "x")
    if a ~= b then error(("load: %s: '%s' is %s, the model expects %s"):format(path, e.name, a, b), 2) end
    e.param:copy_(src)
  end
end

return train
