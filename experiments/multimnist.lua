-- multimnist.lua: CapsNet segmenting highly overlapping digits (Sabour et al.
-- 2017, section 6). Pairs are made on the fly as the official code makes
-- them (capsrun.canvas.multimnist): each digit shifted up to 4 pixels on a
-- 36x36 canvas, paired with a digit of another class, merged as min(a+b, 1);
-- training pairs are drawn afresh every epoch from MNIST train, the test
-- pairs are fixed by --test-seed. The margin loss has both classes present;
-- the decoder reconstructs each digit from its own capsule (masked by its
-- true label) against its own un-merged image, 0.0005 x SSE each. Metrics:
-- "both correct" (the two longest capsules are exactly the two labels) and
-- the per-digit reconstruction error; a figure of merged inputs with the two
-- reconstructions over them in red and green, right and wrong cases.
-- --model cnn trains the paper's CNN baseline on the same pairs instead, with
-- a sigmoid output per class (SigmoidBCELoss, both classes present) and the
-- same both-correct metric on its two largest logits; --model efficient
-- trains Efficient-CapsNet with the decoder, as CapsNet. The loop, metrics,
-- checkpoints and resume are experiment.train's: this file gives it the
-- pairs (a batch source) and the two-digit forward and backward.
-- Under MPI every rank draws the same pairs (same seed) and takes its shard
-- of each batch; gradients are averaged in one allreduce per step, so 2
-- ranks make the updates of 1 process with the same global --batch.
--
--   capsrun experiments/multimnist.lua --epochs 10 --checkpoint runs/multimnist/ck --checkpoint-every 500
--   mpirun -np 2 capsrun experiments/multimnist.lua --epochs 10
--   capsrun experiments/multimnist.lua --limit 6000 --train-pairs 12000 --test-pairs 2000 --epochs 1
local capsrun = require "capsrun"
local experiment = require "capsrun.experiment"
local canvas = require "capsrun.canvas"
local native = capsrun.native
local models = capsrun.models

-- the models whose output fits: class capsules (with a decoder) or logits (sigmoid outputs)
local function fits(d) return d.output == "capsules" or d.output == "logits" end
local own = {
  models.option("capsnet", fits),
  {"train-pairs", "int", nil, "training pairs drawn per epoch (default: 60000, or N with --limit N)", min = 1},
  {"test-pairs", "int", nil, "test pairs, fixed by --test-seed (default: 100000, or N/6 with --limit N)", min = 1},
  {"test-seed", "int", 2017, "seed of the test pairs"},
  {"recon-weight", "number", 0.0005, "weight of each digit's summed squared reconstruction error"},
  {"figure", "string", nil, "inputs and reconstructions (default: multimnist.png beside --save)"},
}
local opts = experiment.parse(arg, experiment.options({save = "runs/multimnist/capsnet.tensors", epochs = 10,
  lr_schedule = "exp", lr = 1e-3, omit = {"resize", "shift", "flip"}}, models.options(own, fits)),
  "usage: capsrun experiments/multimnist.lua [options]")
-- the pairs follow --limit like the images of every other experiment; each digit gets its own random shift
opts.train_pairs = opts.train_pairs or opts.limit or 60000
opts.test_pairs = opts.test_pairs or (opts.limit and math.max(1, opts.limit // 6)) or 100000
local dist = capsrun.dist
local gen = capsrun.manual_seed(opts.seed)
local mnist_train, mnist_test = experiment.load_data(opts)
local size = 36
local shape_set = {images = native.zeros(1, 1, size, size), classes = mnist_train.classes}
local described = models.get(opts.model)
local cnn = described.output == "logits"
local model = models.build(opts, shape_set, gen, {input = {1, size, size}, decoder_pixels = size * size})
local decoder, clf
if cnn then
  clf = {model = model, criterion = capsrun.SigmoidBCELoss.new()}
else
  decoder = capsrun.Decoder.new(mnist_train.classes, described.capsule_dim(model), size * size, nil, gen)
  clf = capsrun.train.autoencoder(model, decoder, {recon_weight = opts.recon_weight})
end
local optimizer = experiment.adam(cnn and {model} or {model, decoder}, opts, {n = opts.train_pairs})
local say = experiment.say
say(("capsrun multimnist: %d pairs per epoch from %d training digits, %d test pairs from %d test digits, 36x36")
  :format(opts.train_pairs, mnist_train.n, opts.test_pairs, mnist_test.n))
if cnn then
  say(("%s: %d parameters, sigmoid outputs, batch %d"):format(described.name, model:num_parameters(), opts.batch))
else
  say(("%s + decoder: %d + %d parameters, %s, batch %d"):format(described.name, model:num_parameters(),
    decoder:num_parameters(), described.describe and described.describe(opts) or "", opts.batch))
end

-- class scores: capsule lengths, or the CNN's logits
local function scores_of(out) return clf.head and clf.head:forward(out) or out end

-- decoder forward (and backward when gv is given) for one digit of every
-- pair, masked by its own label, against its own un-merged image; returns its SSE
local function reconstruct(v, labels, k, target, gv)
  local index = native.index_select(labels:t(), native.new{k - 1}):reshape(labels:size(1))   -- labels[:, k]
  local recon = decoder:forward(v, index)
  local flat = target:reshape(target:size(1), -1)
  local sse = clf.recon_criterion:forward(recon, flat)
  if gv then gv:add_(decoder:backward(v, clf.recon_criterion:backward(recon, flat):mul_(clf.recon_weight))) end
  return sse, recon
end

-- train.step's forward and backward for a (shard of a) batch of pairs:
-- both classes present in the loss, each digit reconstructed from its own
-- capsule; returns loss, pairs with both digits right, per-digit SSE
function clf.forward_backward(_, pairs, labels)
  local v = model:forward(pairs.images)
  local scores = scores_of(v)
  local loss = clf.criterion:forward(scores, labels)
  local gs = clf.criterion:backward(scores, labels)
  local gv = clf.head and clf.head:backward(v, gs) or gs
  local sse = 0
  if decoder then
    local sse1 = reconstruct(v, labels, 1, pairs.first, gv)
    local sse2 = reconstruct(v, labels, 2, pairs.second, gv)
    loss, sse = loss + clf.recon_weight * (sse1 + sse2), (sse1 + sse2) / 2
  end
  model:backward(pairs.images, gv)
  return loss, canvas.top2_correct(scores, labels), sse
end

-- the batch source: fresh pairs from the training digits, drawn from the
-- run's generator (restored by --resume, so a resumed epoch draws on)
local function pair_batches(start)
  if start % opts.batch ~= 0 then
    experiment.fail(1, ("cannot resume: %s stops after %d pairs, not a whole number of batches of %d")
      :format(opts.checkpoint, start, opts.batch))
  end
  local done = start
  return function()
    if done >= opts.train_pairs then return nil end
    local n = math.min(opts.batch, opts.train_pairs - done)
    done = done + n
    local pairs = canvas.multimnist(mnist_train, n, gen)
    return pairs, pairs.labels, n
  end
end

-- this rank's shard of a batch of pairs (all of it in one process)
local function shard(pairs)
  local n = pairs.images:size(1)
  if dist.size() == 1 then return pairs, n end
  local first, count = dist.shard(n)
  if count == 0 then return nil, 0 end
  local part = {n = count}
  for _, k in ipairs{"images", "labels", "first", "second"} do part[k] = pairs[k]:narrow(first + 1, count) end
  return part, count
end

-- the fixed test pairs, made batch by batch from one seeded generator:
-- both-correct accuracy, loss, per-pixel reconstruction error (and, when
-- keep, the first batch with its reconstructions, for the figure)
local function evaluate(keep)
  model:evaluate()
  local tgen = capsrun.generator(opts.test_seed)
  local both, loss, sse, done, kept = 0, 0, 0, 0, nil
  while done < opts.test_pairs do
    local n = math.min(100, opts.test_pairs - done)
    local pairs, count = shard(canvas.multimnist(mnist_test, n, tgen))   -- every rank draws, each measures its shard
    if pairs then
      local v = model:forward(pairs.images)
      local scores = scores_of(v)
      both = both + canvas.top2_correct(scores, pairs.labels)
      loss = loss + clf.criterion:forward(scores, pairs.labels) * count
      if decoder then
        local s1, r1 = reconstruct(v, pairs.labels, 1, pairs.first)
        local s2, r2 = reconstruct(v, pairs.labels, 2, pairs.second)
        sse = sse + (s1 + s2) * count
        if keep and done == 0 then kept = {pairs = pairs, r1 = r1:clone(), r2 = r2:clone(), scores = scores:clone()} end
      end
    end
    done = done + n
  end
  local t = dist.sum({both, loss, sse})
  model:train()
  return t[1] / done, t[2] / done, decoder and t[3] / (2 * done) / (size * size) or nil, nil, kept
end

opts.loop = {batches = pair_batches, accuracy = "both correct", evaluate = function() return evaluate(false) end}
opts.title = "MultiMNIST " .. opts.model
experiment.train(clf, optimizer, {n = opts.train_pairs, classes = mnist_train.classes, pixels = size * size},
  {n = opts.test_pairs, classes = mnist_train.classes}, gen, opts)
if dist.is_main() then
  experiment.try("cannot save the weights", capsrun.train.save, cnn and model or clf, opts.save,
    {dataset = "multimnist", class_names = mnist_train.class_names})
end
if cnn then return end   -- the figure shows reconstructions, which the CNN has not

-- the figure: merged inputs (blue) with the reconstructions of digit 1 (red)
-- and digit 2 (green) over them; right cases first, then wrong ones, each
-- captioned with its two labels and the two classes the model picked
local _, _, _, _, kept = evaluate(true)
if not dist.is_main() or not kept then return end
local px = size * size
local names = mnist_train.class_names
local function name(k) return names and names[k + 1] or tostring(k) end
local right, wrong = {}, {}
for i = 1, kept.pairs.n do
  local ok = canvas.top2_correct(native.narrow(kept.scores, i, 1), native.narrow(kept.pairs.labels, i, 1)) == 1
  local list = ok and right or wrong
  if #list < 8 then list[#list + 1] = i end
end
local tiles, rgb, captions = {}, {}, {}
for _, i in ipairs(right) do tiles[#tiles + 1] = i end
for _, i in ipairs(wrong) do tiles[#tiles + 1] = i end
for k, i in ipairs(tiles) do
  local r = native.narrow(kept.r1, i, 1):reshape(1, px)
  local g = native.narrow(kept.r2, i, 1):reshape(1, px)
  local b = native.narrow(kept.pairs.images, i, 1):reshape(1, px) * 0.7
  rgb[k] = capsrun.cat{r, g, b}:reshape(1, 3 * px)
  -- the two longest capsules, the longer first
  local s = native.narrow(kept.scores, i, 1):reshape(mnist_train.classes)
  local best, second = 0, nil
  for j = 1, mnist_train.classes - 1 do
    if s:get(j + 1) > s:get(best + 1) then best, second = j, best
    elseif not second or s:get(j + 1) > s:get(second + 1) then second = j end
  end
  local a, c = math.tointeger(kept.pairs.labels:get(i, 1)), math.tointeger(kept.pairs.labels:get(i, 2))
  captions[k] = {("labels %s, %s"):format(name(a), name(c)),
    {("picked %s, %s"):format(name(best), name(second)), color = k <= #right and "green" or "red"}}
end
local figure = opts.figure or (experiment.dirname(opts.save) .. "/multimnist.png")
if #rgb > 0 then
  local grid = capsrun.cat(rgb):reshape(#rgb, 3, size, size)
  experiment.try(nil, capsrun.write_png_captioned, figure, grid, captions, {cols = 8, scale = 3,
    title = ("MultiMNIST test pairs (%s): input in blue, the first digit's reconstruction in red, the second's in "
      .. "green; %d with both digits right, then %d wrong"):format(opts.model, #right, #wrong)})
  say(("%d right and %d wrong test pairs in %s (blue: input; red, green: each digit's reconstruction)")
    :format(#right, #wrong, figure))
end
