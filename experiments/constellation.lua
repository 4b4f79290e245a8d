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
-- steps of fresh batches; each ends with the accuracy on a fixed set.
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
experiment.say(("capsrun constellation: %s, %d parameters; %d steps of %d sets an epoch, Adam lr %g")
  :format(model:describe(), model:num_parameters(), opts.steps_per_epoch, opts.batch, opts.lr))

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
    loss = loss + model:forward(part.corners, part.presence):get(1) * count
    correct = correct + segmented(part) * count
  end
  model:train()
  return correct / n, loss / n
end

opts.loop = {batches = batches, evaluate = evaluate, accuracy = "segmentation acc"}
opts.title = "constellations, object capsule autoencoder"
experiment.train(clf, optimizer, {n = examples, classes = 3, pixels = 1}, {n = opts.eval_examples, classes = 3},
  gen, opts)
if capsrun.dist.is_main() then
  experiment.try("cannot save the weights", capsrun.train.save, model, opts.save, {dataset = "constellation"})
  experiment.say("saved parameters to " .. opts.save)
end
