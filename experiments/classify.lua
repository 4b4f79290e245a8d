-- classify.lua: trains CapsNet (Sabour et al. 2017) on MNIST or
-- Fashion-MNIST with the margin loss, the paper's CNN baseline (--model cnn,
-- softmax cross-entropy), or matrix capsules with EM routing (--model em,
-- Hinton et al. 2018, spread loss), and reports per epoch the loss, train
-- and test accuracy and seconds. Edit freely: this is the experiment.
--
--   capsrun experiments/classify.lua
--   capsrun experiments/classify.lua --limit 2000 --epochs 1 --routing-iters 1
--   capsrun experiments/classify.lua --model cnn --checkpoint runs/cnn/ck   (about 6x CapsNet's arithmetic)
--   capsrun experiments/classify.lua --model em --em-sizes 64,8,16,16 --em-iters 2
local capsrun = require "capsrun"
local experiment = require "capsrun.experiment"

local models = capsrun.models
local extra = {models.option("capsnet")}
for _, o in ipairs(models.options()) do extra[#extra + 1] = o end
local opts = experiment.parse(arg, experiment.options({save = "runs/classify/capsnet.tensors"}, extra),
  "usage: capsrun experiments/classify.lua [options]")
if opts.model ~= "capsnet" and opts.save == "runs/classify/capsnet.tensors" then
  opts.save = ("runs/classify/%s.tensors"):format(opts.model)
end
local gen = capsrun.manual_seed(opts.seed)
local train_set, test_set = experiment.load_data(opts)

local input = capsrun.data.input_shape(train_set)
local model = models.build(opts, train_set, gen, {data_values = (train_set.read_values or train_set.images:numel()) +
  (test_set.read_values or test_set.images:numel())})
local clf = capsrun.train.classifier(model)
local optimizer = experiment.adam({model}, opts, train_set)

local say = experiment.say
say(("capsrun classify: %s, %d train / %d test images of %s from %s"):format(train_set.name,
  train_set.n, test_set.n, table.concat(input, "x"), train_set.dir))
local described = models.get(opts.model)
say(("%s: %d parameters, %s, batch %d, lr %g, %d threads x %d ranks, seed %d"):format(described.name,
  model:num_parameters(), described.describe and described.describe(opts) or "", opts.batch, opts.lr,
  capsrun.get_threads(), capsrun.dist.size(), opts.seed))

experiment.train(clf, optimizer, train_set, test_set, gen, opts)
if capsrun.dist.is_main() then
  experiment.try("cannot save the weights", capsrun.train.save, model, opts.save,
    {class_names = train_set.class_names, dataset = train_set.name})
  say("saved parameters to " .. opts.save)
end
