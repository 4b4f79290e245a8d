-- classify.lua: trains CapsNet (Sabour et al. 2017) on MNIST or
-- Fashion-MNIST with the margin loss, or the paper's CNN baseline
-- (--model cnn, softmax cross-entropy), and reports per epoch the loss,
-- train and test accuracy and seconds. Edit freely: this is the experiment.
--
--   capsrun experiments/classify.lua
--   capsrun experiments/classify.lua --limit 2000 --epochs 1 --routing-iters 1
--   capsrun experiments/classify.lua --model cnn --checkpoint runs/cnn/ck   (about 6x CapsNet's arithmetic)
local capsrun = require "capsrun"
local experiment = require "capsrun.experiment"

local extra = experiment.capsnet_options()
extra[#extra + 1] = {"model", "string", "capsnet", "capsnet (dynamic routing) or cnn (the paper's baseline)",
  choices = {"capsnet", "cnn"}}
extra[#extra + 1] = {"dropout", "number", 0.5, "cnn: dropout before the last layer"}
local opts = experiment.parse(arg, experiment.options({save = "runs/classify/capsnet.tensors"}, extra),
  "usage: capsrun experiments/classify.lua [options]")
if opts.model == "cnn" and opts.save == "runs/classify/capsnet.tensors" then opts.save = "runs/classify/cnn.tensors" end
local gen = capsrun.manual_seed(opts.seed)
local train_set, test_set = experiment.load_data(opts)

local input = {train_set.images:size(2), train_set.images:size(3), train_set.images:size(4)}
local model
if opts.model == "cnn" then
  model = capsrun.CNNBaseline.new{input = input, classes = train_set.classes, dropout = opts.dropout, gen = gen}
else
  model = experiment.capsnet(opts, train_set, gen, {data_values = (train_set.read_values or train_set.images:numel()) +
  (test_set.read_values or test_set.images:numel())})
end
local clf = capsrun.train.classifier(model)
local optimizer = experiment.adam({model}, opts, train_set)

local say = experiment.say
say(("capsrun classify: %s, %d train / %d test images of %s from %s"):format(train_set.name,
  train_set.n, test_set.n, table.concat(input, "x"), train_set.dir))
say(("%s: %d parameters, %s, batch %d, %d threads x %d ranks, seed %d"):format(
  opts.model == "cnn" and "CNN baseline" or "CapsNet", model:num_parameters(),
  opts.model == "cnn" and ("dropout " .. opts.dropout) or (opts.routing_iters .. " routing iterations"),
  opts.batch, capsrun.get_threads(), capsrun.dist.size(), opts.seed))

experiment.train(clf, optimizer, train_set, test_set, gen, opts)
if capsrun.dist.is_main() then
  experiment.try("cannot save the weights", capsrun.train.save, model, opts.save,
    {class_names = train_set.class_names, dataset = train_set.name})
  say("saved parameters to " .. opts.save)
end
