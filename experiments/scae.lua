-- scae.lua: stacked capsule autoencoders (Kosiorek, Sabour, Teh & Hinton
-- 2019) on MNIST without labels. Each digit is placed at random on a 40x40
-- canvas (shifts of up to 6 pixels, the official run_mnist.sh); the part
-- capsule autoencoder explains the image as learned templates placed by
-- affine poses, the object capsule autoencoder explains those parts as a
-- few objects. Labels are used only to measure, as the paper does:
--   test acc: k-means (k = 10) on the object capsules' presences of the
--     evaluation images, each cluster named by the best one-to-one
--     matching of clusters to labels (unsupervised classification)
--   probe acc: a linear classifier (softmax regression) fitted on the
--     presences of --probe-examples training images, measured on the
--     evaluation images (the paper's linear probe)
--   posterior k-means acc, posterior probe acc: the same on the part mass
--     each object capsule explains (the posterior responsibilities summed
--     over the parts), which the official evaluation clusters too
-- Settings: run_mnist.sh's (32 object capsules, 11x11 templates, batch
-- 128, set transformer of 3 blocks of 1 head over 16 dimensions, sparsity
-- weights 2, 0.35, 0.7, 0.2, within constant 4.3) with the paper's 24 part
-- capsules (the script has 40) and Adam at 3e-4 (--optimizer rmsprop --lr
-- 3e-5 is the official optimiser); docs/scae.md lists every difference.
--
--   capsrun experiments/scae.lua --epochs 20 --checkpoint runs/scae/ck
--   capsrun experiments/scae.lua --limit 2000 --epochs 2 --parts 16 --capsules 10   (a quick look)
local capsrun = require "capsrun"
local experiment = require "capsrun.experiment"
local canvas = require "capsrun.canvas"
local cluster = require "capsrun.scae.cluster"
local figures = require "capsrun.scae.figures"
local match = require "capsrun.scae.match"
local SCAE = require "capsrun.scae.SCAE"
local native = capsrun.native

-- the official schedule: x 0.96 every 10,000 steps of 128 images, 0.96^(469/10000) per MNIST epoch
local opts = experiment.parse(arg, experiment.options({save = "runs/scae/scae.tensors", epochs = 10, lr = 3e-4,
  lr_schedule = "exp", lr_decay = 0.998, batch = 128, omit = {"resize", "flip", "routing-iters", "shift"}}, {
  {"canvas", "int", 40, "side of the canvas each digit is placed on", min = 1},
  {"max-shift", "int", 6, "the digit moves by up to this many pixels from the canvas's centre", min = 0},
  {"parts", "int", 24, "part capsules (templates): the paper's MNIST model; run_mnist.sh has 40", min = 1},
  {"capsules", "int", 32, "object capsules", min = 1},
  {"template", "int", 11, "side of a template", min = 1},
  {"templates", "string", "relu1", "relu1 (templates clamped to [0, 1], mixed by their value / a temperature) or "
    .. "official (run_mnist.sh's: sigmoid templates coloured by the part's features, mixed by learned alpha "
    .. "templates)", choices = {"relu1", "official"}},
  {"feed-templates", "string", "no", "yes: the object encoder also sees each part's template (the official "
    .. "feed_templates; slower to learn in the first epochs here, docs/results.md); no: its pose, presence and "
    .. "features only", choices = {"yes", "no"}},
  {"target", "string", "image", "what the part decoder explains: image (its pixels), or sobel (its normalised Sobel "
    .. "edges: the official prep='sobel', for natural images such as SVHN; the encoder still sees the image)",
    choices = {"image", "sobel"}},
  {"posterior-mass", "string", "presence", "the posterior sparsity's part mass: presence (each part weighted by "
    .. "its presence) or official (all parts alike, as the released code)", choices = {"presence", "official"}},
  {"maps", "int", 128, "feature maps of the part encoder's convolutions", min = 1},
  {"eval-examples", "int", 2000, "test images clustered and probed after each epoch", min = 10, measure = true},
  {"probe-examples", "int", 2000, "training images the linear probe is fitted on", min = 10, measure = true},
  {"optimizer", "string", "adam", "adam, or rmsprop: the official code's (TensorFlow 1's RMSProp, momentum 0.9, "
    .. "epsilon 1e-2 / batch^2)", choices = {"adam", "rmsprop"}},
  {"eval-seed", "int", 2019, "seed of the evaluation images' placement on the canvas"},
  {"embedding", "string", "tsne", "presences.png: tsne (the paper's figure; about a minute for 2,000 images) "
    .. "or pca (instant)", choices = {"tsne", "pca"}, measure = true},
}), "usage: capsrun experiments/scae.lua [options]")

local train_set, test_set = experiment.load_data(opts)
local channels = train_set.images:size(2)
if channels ~= 1 and channels ~= 3 then
  experiment.fail(1, ("scae.lua: greyscale or colour images expected (1 or 3 channels), %s has %d channels")
    :format(opts.dataset, channels))
end
local gen = capsrun.manual_seed(opts.seed)
local model = SCAE.new{parts = opts.parts, capsules = opts.capsules, template = opts.template, maps = opts.maps,
  input = opts.canvas, classes = train_set.classes, templates = opts.templates, channels = channels,
  feed_templates = opts.feed_templates == "yes", target = opts.target, posterior_mass = opts.posterior_mass,
  gen = gen}   -- nil: a checkpoint from before the option
local h, w = train_set.images:size(3), train_set.images:size(4)
if opts.canvas < math.max(h, w) + 2 * opts.max_shift then
  experiment.fail(1, ("scae.lua: --canvas %d is too small for %dx%d images moved by up to --max-shift %d pixels "
    .. "(it needs at least %d)"):format(opts.canvas, h, w, opts.max_shift, math.max(h, w) + 2 * opts.max_shift))
end
if opts.target == "sobel" and opts.canvas > math.min(h, w) then
  experiment.say(("warning: --target sobel with images of %dx%d on a %dx%d canvas: each image's border on the "
    .. "black canvas is the strongest edge, which the parts must then explain; --canvas %d --max-shift 0 avoids it")
    :format(h, w, opts.canvas, opts.canvas, math.max(h, w)))
end
local optimizer = experiment.adam({model}, opts, train_set)
experiment.say(("capsrun scae: %s, %d train / %d test images placed on %dx%d canvases"):format(
  train_set.name == "folder" and ("image folder " .. opts.data) or opts.dataset,
  train_set.n, test_set.n, opts.canvas, opts.canvas))
experiment.say(("%s: %d parameters, batch %d, %s lr %g"):format(model:describe(), model:num_parameters(), opts.batch,
  opts.optimizer == "rmsprop" and "RMSProp" or "Adam", opts.lr))

local function labels_of(set, first, n)
  local out = {}
  for i = 1, n do out[i] = math.tointeger(set.labels:get(first + i - 1)) end
  return out
end

-- train.step's forward and backward of the canvases (placed by loop.prepare below): the loss the
-- model's output; "correct" is the batch's own k-means accuracy (a noisy view of the test accuracy),
-- seeded by the step so that measuring it draws nothing from the training generator
local clf = {model = model, criterion = {}, collective = capsrun.dist.size() > 1}
local one = native.ones(1)
local kmeans_gen = native.generator(opts.seed)
function clf.forward_backward(_, x, labels, first, n)
  if clf.collective then model:set_shard(first, n) end   -- the whole batch's noise and sparsity terms
  local loss = model:forward(x):get(1)
  model:backward(x, one)
  model:set_shard()
  local truth = {}
  for i = 1, labels:size(1) do truth[i] = math.tointeger(labels:get(i)) end
  local k = math.min(train_set.classes, #truth)
  kmeans_gen:seed(opts.seed * 1000003 + optimizer.step_count)
  local clusters = cluster.kmeans(model.result.object.caps_presence, k, kmeans_gen, {restarts = 1, iterations = 20})
  return loss, match.cluster_accuracy(clusters, truth) * #truth
end

-- the loss's terms, measured apart on the evaluation images after each epoch (metrics.csv only):
-- the PCAE's image NLL, the OCAE's part NLL (-log_prob), its sparsity and dynamic-l2 terms
local terms = {{"test_image_nll", function(r) return r.part_loss end},
  {"test_part_nll", function(r) return -r.object.log_prob end},
  {"test_prior_within", function(r) return r.object.prior_within end},
  {"test_prior_between", function(r) return r.object.prior_between end},
  {"test_posterior_within", function(r) return r.object.posterior_within end},
  {"test_posterior_between", function(r) return r.object.posterior_between end},
  {"test_dynamic_l2", function(r) return r.object.dynamic_l2 end}}
local term_means = {}

-- the part mass each object capsule explains (B, K) into out from row s + 1: the posterior
-- responsibilities summed over the parts, the official evaluation's posterior_pres
-- (eval_mnist_model.py clusters it as well as the presences)
local function add_posterior_mass(object, out, s)
  local post = object.posterior                                      -- (B, K + 1, P), the last: no capsule
  local mass = native.tape_reduce("sum", native.tape_softmax(post, 2, false), 3)   -- (B, K + 1, 1)
  for i = 1, post:size(1) do for k = 1, opts.capsules do out:set(s + i, k, mass:get(i, k, 1)) end end
end

-- object-capsule presences (n, K) and posterior part masses (n, K) of n images of a set from
-- first, in evaluation mode, placed by seed; the mean loss, and each term's mean in term_means
local function presences(set, first, n, seed)
  local place = native.generator(seed)
  local out, mass, loss = native.zeros(n, opts.capsules), native.zeros(n, opts.capsules), 0
  for _, t in ipairs(terms) do term_means[t[1]] = 0 end
  model:evaluate()
  for s = 0, n - 1, 200 do
    local count = math.min(200, n - s)
    local x = canvas.shifted(set.images:narrow(first + s, count), opts.canvas, opts.max_shift, place)
    loss = loss + model:forward(x):get(1) * count
    for _, t in ipairs(terms) do term_means[t[1]] = term_means[t[1]] + t[2](model.result) * count / n end
    local p = model.result.object.caps_presence
    for i = 1, count do for k = 1, opts.capsules do out:set(s + i, k, p:get(i, k)) end end
    add_posterior_mass(model.result.object, mass, s)
  end
  model:train()
  return out, loss / n, mass
end

local n_eval = math.min(opts.eval_examples, test_set.n)
local n_probe = math.min(opts.probe_examples, train_set.n)
local eval_labels = labels_of(test_set, 1, n_eval)
local last_presences, last_mass
local test_terms, posterior = {}, {}
local function kmeans_accuracy(x)
  local clusters = cluster.kmeans(x, math.min(test_set.classes, n_eval), native.generator(opts.eval_seed))
  return match.cluster_accuracy(clusters, eval_labels)
end

local function evaluate()
  local x, loss, mass = presences(test_set, 1, n_eval, opts.eval_seed)
  last_presences, last_mass = x, mass
  for k, v in pairs(term_means) do test_terms[k] = v end
  posterior.kmeans = kmeans_accuracy(mass)
  return kmeans_accuracy(x), loss
end

-- the linear probe on the presences; on the posterior masses into posterior.probe
local function probe()
  local x, _, mass = presences(train_set, 1, n_probe, opts.eval_seed + 1)
  local y, test_y = train_set.labels:narrow(1, n_probe), test_set.labels:narrow(1, n_eval)
  posterior.probe = cluster.linear_probe(mass, y, last_mass, test_y, test_set.classes)
  return cluster.linear_probe(x, y, last_presences, test_y, test_set.classes)
end

-- each batch placed on canvases whole, before it is split across ranks
opts.loop = {evaluate = evaluate, accuracy = "k-means acc",
  prepare = function(images) return (canvas.shifted(images, opts.canvas, opts.max_shift, gen)) end}
opts.epoch_metrics = {{"probe_acc", probe}}
for _, t in ipairs(terms) do
  local name = t[1]
  opts.epoch_metrics[#opts.epoch_metrics + 1] = {name, function() return test_terms[name] end, csv_only = true}
end
-- last: a metrics.csv of an earlier version gets nan in the columns it lacks
opts.epoch_metrics[#opts.epoch_metrics + 1] = {"posterior_kmeans_acc", function() return posterior.kmeans end,
  label = "posterior k-means acc"}
opts.epoch_metrics[#opts.epoch_metrics + 1] = {"posterior_probe_acc", function() return posterior.probe end}
opts.title = "stacked capsule autoencoder, " .. opts.dataset .. " without labels"
local rows = experiment.train(clf, optimizer, train_set, test_set, gen, opts)
if not capsrun.dist.is_main() then return end
if #rows == 0 then   -- resumed after its last epoch: measure the checkpoint (--eval-examples 10000: the whole test set)
  local acc = evaluate()
  local probe_acc = probe()
  experiment.say(("measured after step %d on %d test images: k-means acc %.2f%%  probe acc %.2f%%  posterior "
    .. "k-means acc %.2f%%  posterior probe acc %.2f%% (probes fitted on %d training images)"):format(
    optimizer.step_count, n_eval, 100 * acc, 100 * probe_acc, 100 * posterior.kmeans, 100 * posterior.probe, n_probe))
end
experiment.try("cannot save the weights", capsrun.train.save, model, opts.save, {dataset = opts.dataset})
experiment.say("saved parameters to " .. opts.save)

-- the figures: templates, digits decomposed into parts, the presences' embedding
local dir = experiment.dirname(opts.save)
local n = math.min(8, n_eval)
local x = canvas.shifted(test_set.images:narrow(1, n), opts.canvas, opts.max_shift, native.generator(opts.eval_seed))
model:evaluate()
model:forward(x)
local captions = {}
for k = 1, opts.parts do captions[k] = {tostring(k)} end
-- the templates as the decoder uses them (clamped, or through the sigmoid), before any colour
experiment.try(nil, capsrun.write_png_captioned, dir .. "/templates.png",
  figures.templates(model.result.part.templates, channels),
  captions, {cols = math.min(10, opts.parts), scale = 4, title = ("the %d learned templates (part shapes)"):format(opts.parts)})
captions = {}
local digits = train_set.name == "mnist" or train_set.name == "svhn"
local function label_name(l)   -- "digit 7"; a folder's class name
  return (not digits and test_set.class_names and test_set.class_names[l + 1]) or ("digit %d"):format(l)
end
for i = 1, 4 * n do captions[i] = {i <= n and label_name(eval_labels[i]) or ""} end
-- with --target sobel the decoders explain the edges: those are shown above their reconstructions
local edges = model.pcae.config.target == "sobel"
local grid = figures.decomposition(edges and model.result.part.target or x, model.result.part,
  figures.ocae_reconstruction(model, n))
experiment.try(nil, capsrun.write_png_captioned, dir .. "/parts.png", grid, captions, {cols = n, scale = 3,
  row_labels = {edges and "edges" or "input", "PCAE", "OCAE", "parts"}, title = ("test %s; reconstructed from the "
    .. "part capsules (PCAE) and from the object capsules' votes (OCAE); each pixel in the colour of the part that "
    .. "explains it"):format(edges and "images' Sobel edges (the target)" or "images")})
-- (a run resumed after its last epoch trained nothing, so it measures the presences here)
if not last_presences then
  local _
  last_presences, _, last_mass = presences(test_set, 1, n_eval, opts.eval_seed)
end
-- t-SNE is O(N^2): the figures show the first 3,000 of the measured images at most
local n_shown = opts.embedding == "tsne" and math.min(n_eval, 3000) or n_eval
local labels = {}
for i = 1, n_shown do labels[i] = eval_labels[i] end
-- both views the official evaluation clusters: the presences, and the part mass each capsule explains
-- (the official t-SNE figure's)
local method = opts.embedding == "tsne" and "t-SNE" or "first two principal components"
local legend = {("%d test images; legend, top left: labels 0 to %d"):format(n_shown, math.min(9, test_set.classes - 1))}
if not digits and test_set.class_names then   -- a folder's classes: which number is which
  local names = {}
  for l = 0, math.min(9, test_set.classes - 1) do names[#names + 1] = ("%d %s"):format(l, label_name(l)) end
  legend[2] = table.concat(names, ", ")
end
for _, view in ipairs{{"presences.png", last_presences, "object-capsule presences"},
    {"posterior.png", last_mass, "part mass each object capsule explains (posterior)"}} do
  local img = figures.embedding(view[2]:narrow(1, n_shown), labels, 256, opts.embedding, native.generator(opts.eval_seed))
  experiment.try(nil, capsrun.write_png_captioned, dir .. "/" .. view[1], img,
    {legend},
    {cols = 1, scale = 2, title = ("%s, %s, coloured by the true label"):format(view[3], method)})
end
experiment.say(("figures: %s/templates.png, %s/parts.png, %s/presences.png, %s/posterior.png"):format(dir, dir, dir,
  dir))
