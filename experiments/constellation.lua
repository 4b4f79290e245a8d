-- constellation.lua: the object capsule autoencoder alone on the paper's
-- constellations (Kosiorek et al. 2019, section 4; the official
-- run_constellation.sh): sets of 2-D points made of a square, a triangle
-- and another square, each moved at random and present half the time. No
-- labels: the model learns to explain each set as a few object capsules,
-- each predicting its parts. Measured by the segmentation accuracy: the
-- share of present points whose winning capsule is their pattern's, after
-- the best one-to-one matching of capsules to patterns in each example.
-- The settings are run_constellation.sh's (3 capsules of 4 votes, a Set
-- Transformer of 4 blocks of 4 heads over 128 dimensions, batch 32,
-- sparsity 10, deformation l2 10, prior sparsity 1 + 1, no posterior
-- sparsity) but the optimiser: Adam (capsrun's; the official code uses
-- RMSProp with momentum 0.9) at --lr. An "epoch" is --steps-per-epoch
-- steps of fresh batches; each ends with the accuracy on a fixed set and
-- its test loss: minus the log-likelihood of a set (the training loss adds
-- the sparsity and prior terms, whose size depends on the batch).
--
--   capsrun experiments/constellation.lua --epochs 20 --checkpoint runs/constellation/ck
--   capsrun experiments/constellation.lua --dims 32 --layers 2 --epochs 2 --steps-per-epoch 100   (a quick look)
local capsrun = require "capsrun"
local experiment = require "capsrun.experiment"
local constellation = require "capsrun.scae.constellation"
local match = require "capsrun.scae.match"
local ConstellationAE = require "capsrun.scae.ConstellationAE"
local native = capsrun.native

local opts = experiment.parse(arg, experiment.options({save = "runs/constellation/ocae.tensors", epochs = 10,
  lr = 1e-4, lr_schedule = "exp", omit = {"data", "dataset", "resize", "shift", "flip", "limit", "precision",
  "routing-iters"}}, {
  {"steps-per-epoch", "int", 1000, "training steps between two measures", min = 1},
  {"eval-examples", "int", 1024, "examples of the fixed evaluation set", min = 1},
  {"optimizer", "string", "adam", "adam, or rmsprop: the official code's (TensorFlow 1's RMSProp, momentum 0.9, "
    .. "epsilon 1e-2 / batch^2)", choices = {"adam", "rmsprop"}},
  {"eval-seed", "int", 2019, "seed of the evaluation set"},
  {"capsules", "int", 3, "object capsules", min = 1},
  {"votes", "int", 4, "votes (predicted parts) of each capsule", min = 1},
  {"dims", "int", 128, "the Set Transformer's width", min = 1},
  {"layers", "int", 4, "the Set Transformer's blocks", min = 1},
  {"heads", "int", 4, "attention heads", min = 1},
}), "usage: capsrun experiments/constellation.lua [options]")
-- batches of 32 sets of 11 points: every op is small, and OpenMP threads would only wait on each other
if not opts.threads then capsrun.set_threads(1) end

local gen = capsrun.manual_seed(opts.seed)
local model = ConstellationAE.new{capsules = opts.capsules, votes = opts.votes, dims = opts.dims,
  layers = opts.layers, heads = opts.heads, gen = gen}
local examples = opts.steps_per_epoch * opts.batch
local optimizer = experiment.adam({model}, opts, {n = examples})
experiment.say(("capsrun constellation: %s, %d parameters; %d steps of %d sets an epoch, %s lr %g")
  :format(model:describe(), model:num_parameters(), opts.steps_per_epoch, opts.batch,
  opts.optimizer == "rmsprop" and "RMSProp" or "Adam", opts.lr))

-- segmentation accuracy of a batch, from the model's last forward
local function segmented(batch)
  local pred, truth, pres = {}, {}, {}
  for b = 1, batch.corners:size(1) do
    pred[b], truth[b], pres[b] = {}, {}, {}
    for i = 1, batch.points do
      pred[b][i] = math.tointeger(model.result.winner:get(b, i))
      truth[b][i] = math.tointeger(batch.pattern:get(b, i))
      pres[b][i] = batch.presence:get(b, i)
    end
  end
  return match.segmentation_accuracy(pred, truth, pres)
end

-- train.step's forward and backward: the loss is the model's output
local clf = {model = model, criterion = {}}
function clf.forward_backward(_, batch)
  local loss = model:forward(batch.corners, batch.presence)
  model:backward(batch.corners, native.ones(1))
  return loss:get(1), segmented(batch) * batch.corners:size(1)
end

-- fresh batches from the run's generator (restored on --resume)
local function batches(start)
  local done = start
  return function()
    if done >= examples then return nil end
    done = done + opts.batch
    local b = constellation.batch(opts.batch, gen)
    return b, b.pattern, opts.batch
  end
end

local eval_set = constellation.batch(opts.eval_examples, capsrun.generator(opts.eval_seed))
local function evaluate()
  model:evaluate()
  local correct, loss, n = 0, 0, opts.eval_examples
  for first = 1, n, 256 do
    local count = math.min(256, n - first + 1)
    local part = {corners = eval_set.corners:narrow(first, count), presence = eval_set.presence:narrow(first, count),
      pattern = eval_set.pattern:narrow(first, count), points = eval_set.points}
    model:forward(part.corners, part.presence)
    loss = loss - model.result.log_prob * count   -- the likelihood alone: the prior's terms grow with the batch
    correct = correct + segmented(part) * count
  end
  model:train()
  return correct / n, loss / n
end

opts.loop = {batches = batches, evaluate = evaluate, accuracy = "segmentation acc"}
opts.title = "constellations, object capsule autoencoder"
experiment.train(clf, optimizer, {n = examples, classes = 3, pixels = 1}, {n = opts.eval_examples, classes = 3},
  gen, opts)
if not capsrun.dist.is_main() then return end
experiment.try("cannot save the weights", capsrun.train.save, model, opts.save, {dataset = "constellation"})
experiment.say("saved parameters to " .. opts.save)

-- the figure: 16 sets of the evaluation set, each point drawn in the colour
-- of the capsule that explains it (red, green, blue), absent points not at
-- all; under each, the patterns it holds and its segmentation accuracy
local n, size = math.min(16, opts.eval_examples), 64
local part = {corners = eval_set.corners:narrow(1, n), presence = eval_set.presence:narrow(1, n),
  pattern = eval_set.pattern:narrow(1, n), points = eval_set.points}
model:evaluate()
model:forward(part.corners, part.presence)
local colours = {{1, 0.25, 0.25}, {0.3, 1, 0.3}, {0.35, 0.55, 1}, {1, 1, 0.3}, {1, 0.4, 1}, {0.3, 1, 1}}
local img, captions = native.zeros(n, 3, size, size), {}
for b = 1, n do
  local present = {}
  for i = 1, part.points do
    if part.presence:get(b, i) ~= 0 then
      local cap = math.tointeger(model.result.winner:get(b, i))
      local rgb = colours[cap % #colours + 1]
      local x = math.floor((part.corners:get(b, i, 1) + 1) / 2 * (size - 5)) + 3
      local y = math.floor((1 - (part.corners:get(b, i, 2) + 1) / 2) * (size - 5)) + 3
      for dy = -1, 1 do for dx = -1, 1 do
        for c = 1, 3 do img:set(b, c, y + dy, x + dx, rgb[c]) end
      end end
      present[math.tointeger(part.pattern:get(b, i))] = true
    end
  end
  local names, kinds = {}, {"square", "triangle", "square"}
  for k = 0, 2 do if present[k] then names[#names + 1] = kinds[k + 1] end end
  local pred, truth, pres = {{}}, {{}}, {{}}
  for i = 1, part.points do
    pred[1][i] = math.tointeger(model.result.winner:get(b, i))
    truth[1][i] = math.tointeger(part.pattern:get(b, i))
    pres[1][i] = part.presence:get(b, i)
  end
  captions[b] = #names == 0 and {"no pattern present", ""} or {table.concat(names, " + "),
    {("%.0f%% right"):format(100 * match.segmentation_accuracy(pred, truth, pres)), color = "grey"}}
end
local figure = experiment.dirname(opts.save) .. "/constellations.png"
experiment.try(nil, capsrun.write_png_captioned, figure, img, captions, {cols = 8, scale = 2,
  title = "evaluation sets: each present point in the colour of the object capsule that explains it"})
experiment.say("segmentations of 16 evaluation sets in " .. figure)
