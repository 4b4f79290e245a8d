-- affine.lua: the paper's affine-robustness experiment (Sabour et al. 2017,
-- section 5.2). Train on "expanded MNIST" (each digit on a 40x40 canvas,
-- shifted up to 6 pixels afresh every epoch) until the expanded-MNIST test
-- accuracy reaches --target (the paper compares at 99.2%), then measure the
-- accuracy on an affine test set generated from MNIST test: rotation,
-- shear, scale and translation in affNIST's ranges (capsrun.canvas.AFFNIST;
-- docs/results.md), seeded, resampled bilinearly in C. Run it once with
-- --model capsnet and once with --model cnn (or em) for the comparison.
--
--   capsrun experiments/affine.lua --model capsnet --checkpoint runs/affine/capsnet.ck
--   capsrun experiments/affine.lua --model cnn --save runs/affine-cnn/cnn.tensors --checkpoint runs/affine-cnn/ck
--   capsrun experiments/affine.lua --load runs/affine/ck --epochs 0       (measure a run stopped early)
local capsrun = require "capsrun"
local experiment = require "capsrun.experiment"
local canvas = require "capsrun.canvas"
local native = capsrun.native
local models = capsrun.models

local own = {
  models.option("capsnet"),
  {"load", "string", nil, "start from these weights, or a checkpoint's (with --epochs 0: only measure)"},
  {"target", "number", 99.2, "stop once the expanded-MNIST test accuracy (%) reaches this"},
  {"affine-seed", "int", 2017, "seed of the affine test set (and of the expanded test set's shifts)"},
  {"figure", "string", nil, "sample affine test digits with their predictions (default: affine.png beside --save)"},
}
-- the paper's affine baseline is "a traditional convolutional network (with
-- MaxPooling and DropOut)" (section 5.2): 2x2 pooling after the first two
-- convolutions by default, 6.7M parameters at 40x40 against CapsNet's 11.2M
for _, o in ipairs(experiment.cnn_options("2,2")) do own[#own + 1] = o end
local extra = models.options(own)
-- at most 30 epochs, the target decides when to stop: the paper's exponential
-- schedule, which does not depend on the run's length
local opts = experiment.parse(arg, experiment.options({save = "runs/affine/model.tensors", epochs = 30,
  lr_schedule = "exp", lr = 1e-3}, extra),
  "usage: capsrun experiments/affine.lua [options]")
opts.shift = 6
local gen = capsrun.manual_seed(opts.seed)
local mnist_train, mnist_test = experiment.load_data(opts)
if mnist_train.images:size(3) ~= 28 or mnist_train.images:size(4) ~= 28 then
  experiment.fail(1, "affine: 28x28 digits expected (MNIST or Fashion-MNIST)")
end

-- expanded MNIST: the training digits centred on 40x40, shifted by --shift 6
-- as they are drawn; the test digits shifted once, by a fixed seed
local function centred(set, shifted_gen)
  local images = shifted_gen and canvas.shifted(set.images, 40, 6, shifted_gen)
    or native.pad2d_forward(set.images, 6, {})
  return {images = images, labels = set.labels, n = set.n, classes = set.classes,
    class_names = set.class_names, dir = set.dir, name = "expanded-" .. set.name, split = set.split}
end
local train_set = centred(mnist_train)
local test_set = centred(mnist_test, capsrun.generator(opts.affine_seed))
local affine_set = canvas.affine_test_set(mnist_test, opts.affine_seed)
local params = affine_set.params

local model = models.build(opts, train_set, gen, {input = {1, 40, 40}, data_values = 2 * train_set.images:numel()})
if opts.load then experiment.try("affine", capsrun.train.load, model, opts.load) end
local clf = capsrun.train.classifier(model)
local optimizer = experiment.adam({model}, opts, train_set)
local say = experiment.say
say(("capsrun affine: %s, %d training digits on 40x40 (shifts up to 6), %d expanded and %d affine test digits")
  :format(opts.model, train_set.n, test_set.n, affine_set.n))
say(("%s: %d parameters, target %.2f%% on expanded MNIST, then the affine set"):format(opts.model,
  model:num_parameters(), opts.target))

-- the affine accuracy after every epoch too: the two models can then be
-- compared at equal expanded-MNIST accuracy, whatever epoch each gets there
opts.epoch_metrics = {{"affine_acc", function() return capsrun.train.evaluate(clf, affine_set, 100) end}}
opts.stop_when = function(row) return row.test_acc * 100 >= opts.target end
opts.stop_reason = ("expanded-MNIST test accuracy reached %.2f%%"):format(opts.target)
local rows = experiment.train(clf, optimizer, train_set, test_set, gen, opts)
local last = rows[#rows]
local acc = capsrun.train.evaluate(clf, affine_set, 100)
say(("expanded-MNIST test accuracy %.2f%%, affine test accuracy %.2f%% (%s)"):format(
  100 * (last and last.test_acc or capsrun.train.evaluate(clf, test_set, 100)), 100 * acc, opts.model))
if not capsrun.dist.is_main() then return end
experiment.try("cannot save the weights", capsrun.train.save, model, opts.save, {class_names = train_set.class_names,
  dataset = "expanded-mnist"})

-- the figure: 20 affine test digits, each captioned with its label, what
-- this model says it is (green right, red wrong) and the transformation
local n = math.min(20, affine_set.n)
local sample = native.narrow(affine_set.images, 1, n)
model:evaluate()
local out = model:forward(sample)
local scores = clf.head and clf.head:forward(out) or out
local pred = scores:argmax()
local figure = opts.figure or (experiment.dirname(opts.save) .. "/affine.png")
local names = train_set.class_names
local function name(k) return names and names[k + 1] or tostring(k) end
local lines, captions = {}, {}
for i = 1, n do
  local p = params[i]
  local label, guess = math.tointeger(affine_set.labels:get(i)), math.tointeger(pred:get(i))
  lines[i] = ("%d: label %d, predicted %d (rotation %+.0f deg, shear %+.2f, scale %.2f x %.2f)"):format(i - 1,
    label, guess, p[1], p[2], p[3], p[4])
  captions[i] = {"label " .. name(label), {"says " .. name(guess), color = guess == label and "green" or "red"},
    {("%+.0f° %.2fx"):format(p[1], math.sqrt(p[3] * p[4])), color = "grey"}}   -- rotation, mean scale
end
experiment.try(nil, capsrun.write_png_captioned, figure, sample, captions, {cols = 10, scale = 2,
  title = ("affine test digits (rotation, shear, scale and translation in affNIST's ranges) and what %s trained "
    .. "on expanded MNIST says they are: %.2f%% of the affine test set right"):format(opts.model, 100 * acc)})
print(("affine test digits in %s:\n  %s"):format(figure, table.concat(lines, "\n  ")))
