-- classify.lua: trains CapsNet (Sabour et al. 2017) on MNIST or
-- Fashion-MNIST with the margin loss, and reports per epoch the loss, train
-- and test accuracy and seconds. Edit freely: this is the experiment.
--
--   capsrun experiments/classify.lua --epochs 3
--   capsrun experiments/classify.lua --limit 2000 --epochs 1 --routing-iters 1
local capsrun = require "capsrun"
local native = capsrun.native

local opts = capsrun.cli.parse(arg, {
  {"data", "string", nil, "folder holding the IDX files (else $CAPSRUN_DATA/<dataset>, ./data/<dataset>)"},
  {"dataset", "string", "mnist", "mnist or fashion", choices = {"mnist", "fashion"}},
  {"epochs", "int", 3, "training epochs", min = 1},
  {"batch", "int", 32, "batch size (32: best accuracy per hour, see docs/results.md)", min = 1},
  {"lr", "number", 1e-3, "Adam learning rate"},
  {"lr-decay", "number", 0.9, "learning-rate factor per epoch (exponential, applied per step)"},
  {"routing-iters", "int", 3, "dynamic routing iterations", min = 1},
  {"shift", "int", 2, "random shifts of up to this many pixels (0: none)", min = 0},
  {"limit", "int", nil, "use only the first N training and N/6 test images", min = 1},
  {"seed", "int", 1, "random seed (initialisation, shuffling, shifts)"},
  {"threads", "int", nil, "threads for OpenMP and OpenBLAS (default: all cores)", min = 1},
  {"save", "string", "runs/classify/capsnet.tensors", "checkpoint of the parameters at the end"},
  {"metrics", "string", nil, "per-epoch metrics, CSV (default: beside --save)"},
}, "usage: capsrun experiments/classify.lua [options]")

if opts.threads then capsrun.set_threads(opts.threads) end
local gen = capsrun.manual_seed(opts.seed)

local ok, err = pcall(function()
  opts.train_set = capsrun.data.load(opts.dataset, "train", {dir = opts.data, limit = opts.limit})
  opts.test_set = capsrun.data.load(opts.dataset, "test",
    {dir = opts.data, limit = opts.limit and math.max(1, opts.limit // 6)})
end)
if not ok then io.stderr:write(tostring(err), "\n"); os.exit(1) end
local train_set, test_set = opts.train_set, opts.test_set

local model = capsrun.CapsNet{input = {1, train_set.images:size(3), train_set.images:size(4)},
  classes = train_set.classes, routing_iters = opts.routing_iters, gen = gen}
local clf = capsrun.train.classifier(model)
local steps_per_epoch = (train_set.n + opts.batch - 1) // opts.batch
local params, grads = model:parameters()
local optimizer = capsrun.optim.Adam.new(params, grads,
  {lr = opts.lr, decay_rate = opts.lr_decay, decay_steps = steps_per_epoch})

-- checkpoint and metrics beside each other
local dir = opts.save:match("^(.*)/[^/]*$")
if dir then
  local path = ""
  for part in dir:gmatch("[^/]+") do
    path = (path == "" and dir:sub(1, 1) == "/") and "/" .. part or (path == "" and part or path .. "/" .. part)
    assert(native.mkdir(path))
  end
end
local metrics_path = opts.metrics or ((dir or ".") .. "/metrics.csv")
local metrics = assert(io.open(metrics_path, "w"))
metrics:write("epoch,loss,train_acc,test_acc,test_loss,seconds,images_per_s,lr\n")

print(("capsrun classify: %s, %d train / %d test images from %s"):format(opts.dataset,
  train_set.n, test_set.n, train_set.dir))
print(("CapsNet: %d parameters, %d routing iterations, batch %d, %d threads, seed %d"):format(
  model:num_parameters(), opts.routing_iters, opts.batch, capsrun.get_threads(), opts.seed))

local tty = native.isatty(1)
for epoch = 1, opts.epochs do
  local t0 = capsrun.wallclock()
  local last = 0
  local loss, train_acc = capsrun.train.epoch(clf, optimizer, train_set, {batch = opts.batch,
    gen = gen, shift = opts.shift,
    on_batch = tty and function(done, total, l)
      local now = capsrun.wallclock()
      if now - last < 0.5 and done < total then return end
      last = now
      local rate = done / (now - t0)
      io.write(("\r  epoch %d: %d/%d images, loss %.4f, %.1f images/s, ETA %ds   "):format(
        epoch, done, total, l, rate, math.floor((total - done) / rate)))
      io.flush()
    end})
  local train_s = capsrun.wallclock() - t0
  local test_acc, test_loss = capsrun.train.evaluate(clf, test_set, 100)
  local seconds = capsrun.wallclock() - t0
  if tty then io.write("\r", (" "):rep(78), "\r") end
  print(("epoch %d  loss %.5f  train acc %.2f%%  test acc %.2f%%  %.1f s (%.1f images/s)"):format(
    epoch, loss, 100 * train_acc, 100 * test_acc, seconds, train_set.n / train_s))
  metrics:write(("%d,%.6f,%.6f,%.6f,%.6f,%.2f,%.2f,%.3g\n"):format(epoch, loss, train_acc,
    test_acc, test_loss, seconds, train_set.n / train_s, optimizer:current_lr()))
  metrics:flush()
end
metrics:close()
capsrun.train.save(model, opts.save)
print(("saved parameters to %s, metrics to %s"):format(opts.save, metrics_path))
