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
-- same both-correct metric on its two largest logits.
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
local checkpoint = require "capsrun.checkpoint"
local native = capsrun.native

local extra = experiment.capsnet_options()
for _, o in ipairs{
  {"model", "string", "capsnet", "capsnet, or cnn (the paper's baseline, sigmoid outputs)", choices = {"capsnet", "cnn"}},
  {"train-pairs", "int", nil, "training pairs drawn per epoch (default: 60000, or N with --limit N)", min = 1},
  {"test-pairs", "int", nil, "test pairs, fixed by --test-seed (default: 100000, or N/6 with --limit N)", min = 1},
  {"test-seed", "int", 2017, "seed of the test pairs"},
  {"recon-weight", "number", 0.0005, "weight of each digit's summed squared reconstruction error"},
  {"figure", "string", nil, "inputs and reconstructions (default: multimnist.png beside --save)"},
} do extra[#extra + 1] = o end
for _, o in ipairs(experiment.cnn_options("none")) do extra[#extra + 1] = o end
local opts = experiment.parse(arg, experiment.options({save = "runs/multimnist/capsnet.tensors", epochs = 10,
  lr_schedule = "exp", lr = 1e-3, omit = {"resize", "shift", "flip"}}, extra),
  "usage: capsrun experiments/multimnist.lua [options]")
-- the pairs follow --limit like the images of every other experiment; each digit gets its own random shift
opts.train_pairs = opts.train_pairs or opts.limit or 60000
opts.test_pairs = opts.test_pairs or (opts.limit and math.max(1, opts.limit // 6)) or 100000
local dist = capsrun.dist
local gen = capsrun.manual_seed(opts.seed)
local mnist_train, mnist_test = experiment.load_data(opts)
local size = 36
local shape_set = {images = native.zeros(1, 1, size, size), classes = mnist_train.classes}
local cnn = opts.model == "cnn"
local model, decoder, clf
if cnn then
  model = experiment.cnn(opts, shape_set, gen, {1, size, size})
  clf = {model = model, criterion = capsrun.SigmoidBCELoss.new()}
else
  model = experiment.capsnet(opts, shape_set, gen, {decoder_pixels = size * size})
  decoder = capsrun.Decoder.new(mnist_train.classes, model.config.digit_dim, size * size, nil, gen)
  clf = capsrun.train.autoencoder(model, decoder, {recon_weight = opts.recon_weight})
end
local per_epoch = math.ceil(opts.train_pairs / opts.batch)
local optimizer = experiment.adam(cnn and {model} or {model, decoder}, opts, {n = opts.train_pairs})
local named = capsrun.train.named(cnn and model or clf)
local say = experiment.say
experiment.say_machine()
say(("capsrun multimnist: %d pairs per epoch from %d training digits, %d test pairs from %d test digits, 36x36")
  :format(opts.train_pairs, mnist_train.n, opts.test_pairs, mnist_test.n))
if cnn then
  say(("CNN baseline: %d parameters, sigmoid outputs, batch %d"):format(model:num_parameters(), opts.batch))
else
  say(("CapsNet + decoder: %d + %d parameters, %d routing iterations, batch %d"):format(model:num_parameters(),
    decoder:num_parameters(), opts.routing_iters, opts.batch))
end

-- class scores: capsule lengths, or the CNN's logits
local function scores_of(out) return clf.head and clf.head:forward(out) or out end

-- decoder forward and backward for one digit of every pair; returns its SSE
local function reconstruct(v, labels, k, target, gv)
  local index = native.index_select(labels:t(), native.new{k - 1}):reshape(labels:size(1))   -- labels[:, k]
  local recon = decoder:forward(v, index)
  local flat = target:reshape(target:size(1), -1)
  local sse = clf.recon_criterion:forward(recon, flat)
  if gv then gv:add_(decoder:backward(v, clf.recon_criterion:backward(recon, flat):mul_(clf.recon_weight))) end
  return sse, recon
end

-- this rank's shard of a batch of pairs (all of it in one process)
local function shard(pairs)
  local n = pairs.images:size(1)
  if dist.size() == 1 then return pairs, n, n end
  local first, count = dist.shard(n)
  if count == 0 then return nil, 0, n end
  local part = {}
  for _, k in ipairs{"images", "labels", "first", "second"} do part[k] = pairs[k]:narrow(first + 1, count) end
  part.n = count
  return part, count, n
end

-- forward and backward of this rank's shard; gradients into the buffers
local function forward_backward(pairs)
  local v = model:forward(pairs.images)
  local scores = scores_of(v)
  local loss = clf.criterion:forward(scores, pairs.labels)
  local gs = clf.criterion:backward(scores, pairs.labels)
  local gv = clf.head and clf.head:backward(v, gs) or gs
  if decoder then
    local sse1 = reconstruct(v, pairs.labels, 1, pairs.first, gv)
    local sse2 = reconstruct(v, pairs.labels, 2, pairs.second, gv)
    loss = loss + clf.recon_weight * (sse1 + sse2)
  end
  model:backward(pairs.images, gv)
  return loss, canvas.top2_correct(scores, pairs.labels)
end

local function step(pairs)
  model:zero_grad()
  if decoder then decoder:zero_grad() end
  local part, count, n = shard(pairs)
  local loss, correct = 0, 0
  if part then loss, correct = forward_backward(part) end
  if dist.size() > 1 then
    for _, g in ipairs(optimizer.grads) do g:mul_(count * dist.size() / n) end   -- a shard's mean -> its share
    dist.allreduce_grads_(optimizer.grads, "mean")
    local t = dist.sum({loss * count / n, correct})
    loss, correct = t[1], t[2]
  end
  optimizer:step()
  return loss, correct
end

-- the fixed test pairs, made batch by batch from one seeded generator
local function evaluate(keep)
  model:evaluate()
  local tgen = capsrun.generator(opts.test_seed)
  local both, sse, done, kept = 0, 0, 0, {}
  while done < opts.test_pairs do
    local n = math.min(100, opts.test_pairs - done)
    local pairs, count = shard(canvas.multimnist(mnist_test, n, tgen))   -- every rank draws, each measures its shard
    if pairs then
      local v = model:forward(pairs.images)
      local lengths = scores_of(v)
      both = both + canvas.top2_correct(lengths, pairs.labels)
      if decoder then
        local s1, r1 = reconstruct(v, pairs.labels, 1, pairs.first)
        local s2, r2 = reconstruct(v, pairs.labels, 2, pairs.second)
        sse = sse + (s1 + s2) * count
        if keep and done == 0 then kept = {pairs = pairs, r1 = r1:clone(), r2 = r2:clone(), lengths = lengths:clone()} end
      end
    end
    done = done + n
  end
  local t = dist.sum({both, sse})
  both, sse = t[1], t[2]
  model:train()
  return both / done, decoder and sse / (2 * done) / (size * size) or 0 / 0, kept
end

local first, start = 1, 0   -- start: pairs of the first epoch already trained (a mid-epoch checkpoint)
if opts.resume_state then
  first, start = checkpoint.restore(opts.resume_state, named, optimizer, gen, true)
  if start % opts.batch ~= 0 then
    experiment.fail(1, ("cannot resume: %s stops after %d pairs, not a whole number of batches of %d")
      :format(opts.checkpoint, start, opts.batch))
  end
  say(("resumed from %s at epoch %d, pair %d"):format(opts.checkpoint, first, start))
end
dist.broadcast_params_(optimizer.params)   -- every rank starts from rank 0's parameters
local main = dist.is_main()
local dir = experiment.dirname(opts.save)
local metrics = opts.metrics or (dir .. "/metrics.csv")
local f
if main then
  experiment.try(nil, experiment.mkdir_p, dir)
  -- on resume the rows of finished epochs are kept and the rest rewritten: no epoch twice
  f = experiment.open_metrics(metrics, {"epoch", "loss", "train_both_correct", "test_both_correct", "test_recon_mse",
    "seconds"}, first)
end
local function save_checkpoint(epoch, done)
  if not (opts.checkpoint and main) then return end
  experiment.try("cannot save the checkpoint", checkpoint.save, opts.checkpoint, {named = named,
    optimizer = optimizer, gen = gen, epoch = epoch, done = done, options = experiment.option_values(opts)})
end
if opts.checkpoint and main then
  experiment.try(nil, experiment.mkdir_p, experiment.dirname(opts.checkpoint))
  native.remove_stale_temps(opts.checkpoint)   -- left by a run killed while writing
end
for epoch = first, opts.epochs do
  -- the loss and train accuracy of a resumed epoch cover the pairs trained since the checkpoint
  local t0, loss_sum, correct, seen = native.wallclock(), 0, 0, 0
  local show = main and experiment.progress(epoch, t0, opts)
  for b = start // opts.batch + 1, per_epoch do
    local n = math.min(opts.batch, opts.train_pairs - (b - 1) * opts.batch)
    local pairs = canvas.multimnist(mnist_train, n, gen)
    local loss, c = step(pairs)
    if loss ~= loss or math.abs(loss) == math.huge then
      experiment.fail(1, ("training diverged: loss is %s at epoch %d, batch %d; parameters not saved"):format(
        tostring(loss), epoch, b))
    end
    loss_sum, correct, seen = loss_sum + loss * n, correct + c, seen + n
    if show then show(seen, opts.train_pairs - start, loss) end
    if opts.checkpoint_every > 0 and b % opts.checkpoint_every == 0 and b < per_epoch then
      save_checkpoint(epoch, b * opts.batch)
    end
  end
  start = 0
  experiment.end_progress(show)
  local both, mse = evaluate(false)
  local secs = native.wallclock() - t0
  say(("epoch %d  loss %.5f  train both correct %.2f%%  test both correct %.2f%% (error %.2f%%)  %s%.1f s")
    :format(epoch, loss_sum / seen, 100 * correct / seen, 100 * both, 100 * (1 - both),
    decoder and ("recon mse %.5f per pixel  "):format(mse) or "", secs))
  if main then
    f:write(("%d,%.6g,%.6g,%.6g,%.6g,%.1f\n"):format(epoch, loss_sum / seen, correct / seen, both, mse, secs))
    f:flush()
  end
  save_checkpoint(epoch + 1, 0)
end
if main then
  f:close()
  experiment.try("cannot save the weights", capsrun.train.save, cnn and model or clf, opts.save,
    {dataset = "multimnist", class_names = mnist_train.class_names})
  if first <= opts.epochs then experiment.curves(metrics, dir, "MultiMNIST " .. opts.model) end   -- an epoch ran
end
if cnn then return end   -- the figure shows reconstructions, which the CNN has not

-- the figure: merged inputs (blue) with the reconstructions of digit 1 (red)
-- and digit 2 (green) over them; right cases first, then wrong ones
local _, _, kept = evaluate(true)
if not main then return end
local right, wrong = {}, {}
for i = 1, kept.pairs.n do
  local ok = canvas.top2_correct(native.narrow(kept.lengths, i, 1), native.narrow(kept.pairs.labels, i, 1)) == 1
  local list = ok and right or wrong
  if #list < 8 then list[#list + 1] = i end
end
local tiles = {}
for _, i in ipairs(right) do tiles[#tiles + 1] = i end
for _, i in ipairs(wrong) do tiles[#tiles + 1] = i end
local rgb = {}
for k, i in ipairs(tiles) do
  local px = size * size
  local r = native.narrow(kept.r1, i, 1):reshape(1, px)
  local g = native.narrow(kept.r2, i, 1):reshape(1, px)
  local b = native.narrow(kept.pairs.images, i, 1):reshape(1, px) * 0.7
  rgb[k] = capsrun.cat{r, g, b}:reshape(1, 3 * px)
end
local figure = opts.figure or (dir .. "/multimnist.png")
if #rgb > 0 then
  local grid = capsrun.cat(rgb):reshape(#rgb, 3, size, size)
  experiment.try(nil, capsrun.write_png_grid, figure, grid, {cols = 8, scale = 3, spacing = 2, rgb = true})
  say(("%d right and %d wrong test pairs in %s (blue: input; red, green: each digit's reconstruction)")
    :format(#right, #wrong, figure))
end
