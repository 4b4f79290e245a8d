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

local extra = experiment.capsnet_options()
extra[#extra + 1] = {"model", "string", "capsnet", "capsnet (dynamic routing, or --routing), cnn (the paper's "
  .. "baseline), em (matrix capsules with EM routing) or efficient (Efficient-CapsNet, self-attention routing)",
  choices = {"capsnet", "cnn", "em", "efficient"}}
for _, o in ipairs(experiment.em_options()) do extra[#extra + 1] = o end
for _, o in ipairs(experiment.cnn_options("none")) do extra[#extra + 1] = o end
local opts = experiment.parse(arg, experiment.options({save = "runs/classify/capsnet.tensors"}, extra),
  "usage: capsrun experiments/classify.lua [options]")
if opts.model ~= "capsnet" and opts.save == "runs/classify/capsnet.tensors" then
  opts.save = ("runs/classify/%s.tensors"):format(opts.model)
end
local gen = capsrun.manual_seed(opts.seed)
local train_set, test_set = experiment.load_data(opts)

local input = capsrun.data.input_shape(train_set)
local model
if opts.model == "cnn" then
  model = experiment.cnn(opts, train_set, gen)
elseif opts.model == "em" then
  model = experiment.matrix_capsnet(opts, train_set, gen)
elseif opts.model == "efficient" then
  model = experiment.efficient(opts, train_set, gen)
else
  model = experiment.capsnet(opts, train_set, gen, {data_values = (train_set.read_values or train_set.images:numel()) +
  (test_set.read_values or test_set.images:numel())})
end
local clf = capsrun.train.classifier(model)
local optimizer = experiment.adam({model}, opts, train_set)

local say = experiment.say
say(("capsrun classify: %s, %d train / %d test images of %s from %s"):format(train_set.name,
  train_set.n, test_set.n, table.concat(input, "x"), train_set.dir))
local MODEL_NAMES = {cnn = "CNN baseline", capsnet = "CapsNet", em = "MatrixCapsNet (EM routing, A,B,C,D = " ..
  opts.em_sizes .. ")", efficient = "Efficient-CapsNet"}
say(("%s: %d parameters, %s, batch %d, %d threads x %d ranks, seed %d"):format(
  MODEL_NAMES[opts.model], model:num_parameters(),
  opts.model == "cnn" and ("dropout " .. opts.dropout .. ", pooling " .. opts.cnn_pool) or
    opts.model == "efficient" and "self-attention routing" or
    ((opts.model == "em" and opts.em_iters or opts.routing_iters) .. " routing iterations"),
  opts.batch, capsrun.get_threads(), capsrun.dist.size(), opts.seed))

experiment.train(clf, optimizer, train_set, test_set, gen, opts)
if capsrun.dist.is_main() then
  experiment.try("cannot save the weights", capsrun.train.save, model, opts.save,
    {class_names = train_set.class_names, dataset = train_set.name})
  say("saved parameters to " .. opts.save)
end
