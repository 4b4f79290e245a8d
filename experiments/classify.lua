-- classify.lua: trains CapsNet (Sabour et al. 2017) on MNIST or
-- Fashion-MNIST with the margin loss, and reports per epoch the loss, train
-- and test accuracy and seconds. Edit freely: this is the experiment.
--
--   capsrun experiments/classify.lua --epochs 3
--   capsrun experiments/classify.lua --limit 2000 --epochs 1 --routing-iters 1
local capsrun = require "capsrun"
local experiment = require "capsrun.experiment"

local opts = experiment.parse(arg, experiment.options({save = "runs/classify/capsnet.tensors"}),
  "usage: capsrun experiments/classify.lua [options]")
local gen = capsrun.manual_seed(opts.seed)
local train_set, test_set = experiment.load_data(opts)

local model = capsrun.CapsNet.new{input = {1, train_set.images:size(3), train_set.images:size(4)},
  classes = train_set.classes, routing_iters = opts.routing_iters, gen = gen}
local clf = capsrun.train.classifier(model)
local optimizer = experiment.adam({model}, opts, train_set)

local say = experiment.say
say(("capsrun classify: %s, %d train / %d test images from %s"):format(opts.dataset,
  train_set.n, test_set.n, train_set.dir))
say(("CapsNet: %d parameters, %d routing iterations, batch %d, %d threads x %d ranks, seed %d"):format(
  model:num_parameters(), opts.routing_iters, opts.batch, capsrun.get_threads(), capsrun.dist.size(), opts.seed))

experiment.train(clf, optimizer, train_set, test_set, gen, opts)
if capsrun.dist.is_main() then
  experiment.try("cannot save the weights", capsrun.train.save, model, opts.save)
  say("saved parameters to " .. opts.save)
end
