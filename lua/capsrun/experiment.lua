--- What the experiment scripts share: common options, data loading with a
-- clear message, output folders, metrics CSV, the per-epoch loop with a
-- progress line, and the final plot.
local native = require "capsrun.native"
local data = require "capsrun.data"
local train = require "capsrun.train"
local plot = require "capsrun.plot"
local checkpoint = require "capsrun.checkpoint"
local dist = require "capsrun.dist"

local experiment = {}

-- "path/x.lua:12: message" -> "message": errors from the environment (disk
-- full, permission denied) are for users, not for debugging
local function plain(err)
  return (tostring(err):gsub("^[^\n:]+:%d+: ", ""))
end


--- options(defaults, extra) -> option spec: the common options, then extra
-- ones; defaults sets their defaults by key (epochs, batch, lr, lr_decay, lr_schedule, save),
-- and defaults.omit lists common options the script has no use for (it
-- must not offer what it ignores)
function experiment.options(defaults, extra)
  local spec = {
    {"data", "string", nil, "folder holding the dataset's files, or an image folder (DIR/train/<class>/*.png, "
      .. "DIR/test/<class>/*.png); else $CAPSRUN_DATA/<dataset>, ./data/<dataset>"},
    {"dataset", "string", "mnist", "mnist, fashion, cifar10, smallnorb or svhn (an image folder is recognised by "
      .. "itself)", choices = {"mnist", "fashion", "cifar10", "smallnorb", "svhn"}},
    {"resize", "string", nil, "bring every image to HxW (bilinear), e.g. 28x28"},
    {"epochs", "int", defaults.epochs or 2, "training epochs", min = 0},
    {"batch", "int", defaults.batch or 32, "batch size (32: best accuracy per hour, see docs/results.md)", min = 1},
    {"lr", "number", defaults.lr or 2e-3, "Adam learning rate (the peak, with onecycle)"},
    {"lr-decay", "number", defaults.lr_decay or 0.9, "learning-rate factor per epoch (exponential, applied per step)"},
    {"lr-schedule", "string", defaults.lr_schedule or "onecycle", "onecycle: warm-up, then cosine to 0 at the last epoch (fastest to "
      .. "99.3%, docs/performance.md); exp: x lr-decay per epoch, as the paper",
      choices = {"exp", "onecycle"}},
    {"warmup", "number", 0.05, "onecycle: fraction of the steps spent warming up"},
    {"routing-iters", "int", 3, "dynamic routing iterations", min = 1},
    {"shift", "int", 2, "random shifts of up to this many pixels (0: none)", min = 0},
    {"flip", "flag", false, "mirror half of the training images left to right (CIFAR-10 setting)"},
    {"limit", "int", nil, "use only the first N training and N/6 test images", min = 1},
    {"seed", "int", 1, "random seed (initialisation, shuffling, shifts)"},
    {"threads", "int", nil, "threads for OpenMP and OpenBLAS (default: all cores)", min = 1},
    {"precision", "string", "auto", "convolution GEMMs: bf16 (float32 accumulation), f32, f32-blas "
      .. "(OpenBLAS only), or auto: bf16 where the CPU runs it natively", choices = {"auto", "bf16", "f32", "f32-blas"}},
    {"save", "string", defaults.save, "weights file written at the end (parameters only; --checkpoint is the full training state)"},
    {"metrics", "string", nil, "per-epoch metrics, CSV (default: beside --save)"},
    {"checkpoint", "string", nil, "full training state (parameters, Adam, generator, position), saved atomically"},
    {"checkpoint-every", "int", 0, "also checkpoint every N batches (0: only at the end of each epoch)", min = 0},
    {"resume", "flag", false, "continue the run saved in --checkpoint (its options are used)"},
    {"progress-every", "number", 30, "when standard output is not a terminal (a log), a progress line every "
      .. "this many seconds"},
    {"quiet", "flag", false, "no progress lines (the per-epoch lines stay)"},
  }
  local omit = {}
  for _, name in ipairs(defaults.omit or {}) do omit[name] = true end
  local kept = {}
  for _, o in ipairs(spec) do if not omit[o[1]] then kept[#kept + 1] = o end end
  for _, o in ipairs(extra or {}) do kept[#kept + 1] = o end
  return kept
end

--- capsnet_options(): the architecture options of CapsNet, with the paper's defaults
function experiment.capsnet_options()
  return {
    {"conv-channels", "int", 256, "CapsNet: channels of the first convolution", min = 1},
    {"conv-kernel", "int", 9, "CapsNet: kernel of the first convolution", min = 1},
    {"primary-types", "int", 32, "CapsNet: primary capsule types", min = 1},
    {"primary-dim", "int", 8, "CapsNet: dimensions of a primary capsule", min = 1},
    {"primary-kernel", "int", 9, "CapsNet: kernel of the primary-capsule convolution", min = 1},
    {"primary-stride", "int", 2, "CapsNet: stride of the primary-capsule convolution", min = 1},
    {"digit-dim", "int", 16, "CapsNet: dimensions of a class capsule", min = 1},
    {"routing", "string", "dynamic", "CapsNet: dynamic (the fused C kernel), or a routing written in Lua "
      .. "(capsrun.routing): dynamic-lua, dynamic-lua-detach (no gradient through the earlier iterations)",
      choices = require("capsrun.routing").names()},
  }
end

--- em_options(): the options of the EM model (--model em), for every script that offers it
function experiment.em_options()
  return {
    {"em-iters", "int", 2, "em: EM routing iterations (3, the paper's, trains erratically: docs/em.md)", min = 1},
    {"em-temp", "number", 1.0, "em: scale in (0, 1] of the E-step's Gaussian log-likelihood; 1 is the paper, "
      .. "1/16 lets 3 iterations learn (docs/em.md)"},
    {"em-temp-final", "number", nil, "em: anneal the E-step temperature from --em-temp to this value over the "
      .. "first half of training (1: end at the paper's E-step)"},
    {"em-sizes", "string", "64,8,16,16", "em: A,B,C,D (conv channels, primary, convcaps1 and convcaps2 types); "
      .. "64,8,16,16 is the paper's small model, 32,32,32,32 its large one"},
  }
end

--- cnn_options(pool): the options of the CNN baseline (--model cnn); pool is
-- the script's default --cnn-pool ("none", or sizes such as "2,2")
function experiment.cnn_options(pool)
  return {
    {"dropout", "number", 0.5, "cnn: dropout before the last layer"},
    {"cnn-pool", "string", pool or "none", "cnn: max pooling after each convolution, e.g. 2,2 (2x2 after the "
      .. "first two); none is the paper's MNIST baseline, 2,2 its affine one (\"with MaxPooling\")"},
  }
end

--- cnn(opts, set, gen [, input]) -> CNNBaseline shaped by the data (or
-- input {c, h, w}), opts.dropout and opts.cnn_pool; fails with exit 2 on a
-- malformed --cnn-pool and exit 1 on a pooling that does not fit the images
function experiment.cnn(opts, set, gen, input)
  local text, pool = opts.cnn_pool or "none", {}
  if text ~= "none" then
    for v in text:gmatch("[^,]*") do pool[#pool + 1] = math.tointeger(tonumber(v)) or false end
    local ok = #pool >= 1 and #pool <= 3
    for _, p in ipairs(pool) do ok = ok and p and p >= 1 and p <= 16 end
    if not ok then
      experiment.fail(2, ("--cnn-pool: none, or one to three integers in [1, 16] separated by commas expected, "
        .. "got '%s'"):format(text))
    end
  end
  return experiment.try(nil, require("capsrun.CNNBaseline").new, {input = input or data.input_shape(set),
    classes = set.classes, dropout = opts.dropout, pool = pool, gen = gen})
end

--- capsnet(opts, set, gen [, extra]) -> CapsNet shaped by the data (channels,
-- size, classes) and the architecture options, after checking that training
-- it at opts.batch fits in memory (else fail with what to change); extra as
-- memory.estimate takes it (decoder_pixels, data_values)
function experiment.capsnet(opts, set, gen, extra)
  local cfg = {input = data.input_shape(set), classes = set.classes,
    conv_channels = opts.conv_channels, conv_kernel = opts.conv_kernel, primary_types = opts.primary_types,
    primary_dim = opts.primary_dim, primary_kernel = opts.primary_kernel, primary_stride = opts.primary_stride,
    digit_dim = opts.digit_dim, routing_iters = opts.routing_iters, routing = opts.routing, gen = gen}
  local memory = require "capsrun.memory"
  local ok, total = pcall(memory.check, cfg, opts.batch, extra)
  if not ok then experiment.fail(1, plain(total)) end
  experiment.say(("training memory estimate: %.0f MiB at batch %d"):format(total / 2 ^ 20, opts.batch))
  return experiment.try(nil, require("capsrun.CapsNet").new, cfg)
end

--- efficient(opts, set, gen) -> EfficientCapsNet shaped by the data
function experiment.efficient(opts, set, gen)
  return experiment.try(nil, require("capsrun.EfficientCapsNet").new, {input = data.input_shape(set),
    classes = set.classes, gen = gen})
end

--- matrix_capsnet(opts, set, gen) -> MatrixCapsNet shaped by the data and
-- opts.em_sizes ("A,B,C,D"), opts.em_iters, opts.em_temp, opts.em_temp_final; fails with exit 2 on a
-- malformed --em-sizes and exit 1 on images too small for the model
function experiment.matrix_capsnet(opts, set, gen)
  local sizes = {}
  for v in (opts.em_sizes or "64,8,16,16"):gmatch("[^,]+") do sizes[#sizes + 1] = math.tointeger(tonumber(v)) end
  if #sizes ~= 4 or not (sizes[1] and sizes[2] and sizes[3] and sizes[4]) or
     math.min(table.unpack(sizes)) < 1 or math.max(table.unpack(sizes)) > 256 then
    experiment.fail(2, ("--em-sizes: four integers A,B,C,D in [1, 256] expected, got '%s'"):format(
      tostring(opts.em_sizes)))
  end
  local temp, final = opts.em_temp or 1.0, opts.em_temp_final or opts.em_temp or 1.0
  for _, o in ipairs{{"--em-temp", temp}, {"--em-temp-final", final}} do
    local name, t = o[1], o[2]
    if not (t > 0 and t <= 1) then
      experiment.fail(2, ("%s: a number in (0, 1] expected, got %s"):format(name, tostring(t)))
    end
  end
  local model = experiment.try(nil, require("capsrun.MatrixCapsNet").new, {input = data.input_shape(set),
    classes = set.classes, A = sizes[1], B = sizes[2], C = sizes[3],
    D = sizes[4], routing_iters = opts.em_iters or 2, e_temperature = temp, e_temperature_final = final,
    gen = gen})
  -- half of the capsules active at the start (a resumed run then loads its own betas)
  local acts = model:calibrate((data.batches(set, math.min(set.n, opts.batch))()))
  experiment.say(("EM betas calibrated on %d images: mean activations %.2f, %.2f, %.2f"):format(
    math.min(set.n, opts.batch), acts[1], acts[2], acts[3]))
  return model
end

-- options that a resumed run takes from its command line, not its checkpoint
local LOCAL_OPTIONS = {threads = true, checkpoint = true, checkpoint_every = true, resume = true,
  progress_every = true, quiet = true}

--- fail(code, message): stop the experiment with this exit status and a
-- one-line message, through the host (MPI shut down, Lua state closed)
function experiment.fail(code, message)
  require("capsrun.cli").exit(code, message)
end

--- try(prefix, fn, ...) -> fn's results; an error becomes fail(1, "prefix: message")
function experiment.try(prefix, fn, ...)
  local res = table.pack(pcall(fn, ...))
  if not res[1] then
    -- Ctrl-C (the host's "interrupted!") goes on up to experiment.interruptible, whatever it interrupted
    if type(res[2]) == "string" and res[2]:find("interrupted!$") then error(res[2], 0) end
    experiment.fail(1, (prefix and (prefix .. ": ") or "") .. plain(res[2]))
  end
  return table.unpack(res, 2, res.n)
end

--- say(...): print, on the main rank only
function experiment.say(...)
  if dist.is_main() then print(...) end
end

-- threads: as asked, else the cores shared among the ranks on this machine
local function set_threads(opts)
  if opts.threads then native.set_threads(opts.threads); return end
  if dist.size() > 1 then
    local local_ranks = tonumber(os.getenv("OMPI_COMM_WORLD_LOCAL_SIZE")) or dist.size()
    native.set_threads(math.max(1, native.get_threads() // local_ranks))
  end
end

--- parse(args, spec, usage) -> options (and sets the thread count); with --resume, the checkpoint's
-- options replace the others (but --threads, the checkpoint options, and,
-- when given, --epochs, to extend a run, and the options marked measure = true
-- in the spec: how a run is measured, not what it trains) and the loaded
-- checkpoint is kept in opts.resume_state
function experiment.parse(args, spec, usage)
  local cli = require "capsrun.cli"
  local opts = cli.parse(args, spec, usage)
  set_threads(opts)
  -- a model's own training defaults, where the command line does not say (classify.lua --model em: lr 5e-3)
  local model = opts.model and select(2, pcall(require("capsrun.models").get, opts.model))
  if type(model) == "table" then
    local typed = {}
    for _, a in ipairs(args) do typed[(a:match("^%-%-([%w%-_]+)") or ""):gsub("_", "-")] = true end
    for key, v in pairs(model.defaults) do
      if not typed[key:gsub("_", "-")] and opts[key] ~= nil then opts[key] = v end
    end
  end
  local function use_precision() experiment.try(nil, native.set_precision, opts.precision or "auto") end
  if not opts.resume then use_precision(); return opts end
  if not opts.checkpoint then experiment.fail(2, "--resume needs --checkpoint PATH") end
  local ck = experiment.try("cannot resume", checkpoint.load, opts.checkpoint)
  local given = {}
  for _, a in ipairs(args) do
    local name = a:match("^%-%-([%w%-_]+)")
    if name then given[name:gsub("-", "_")] = true end
  end
  for _, o in ipairs(spec) do
    local key = o[1]:gsub("-", "_")
    local saved = ck.options[key]
    if not LOCAL_OPTIONS[key] and not (given[key] and (key == "epochs" or o.measure)) then
      if saved == nil then opts[key] = nil
      elseif o[2] == "int" or o[2] == "number" then opts[key] = tonumber(saved)
      elseif o[2] == "flag" then opts[key] = saved == "true"
      else opts[key] = saved end
    end
  end
  opts.resume_state = ck
  opts.precision = opts.precision or "f32-blas"   -- checkpoints from before --precision ran OpenBLAS f32
  if opts.lr_schedule == "onecycle" and given.epochs and tonumber(ck.options.epochs) ~= opts.epochs then
    io.stderr:write(("note: the onecycle schedule of this run was planned for %s epochs; with --epochs %d "
      .. "the learning rate follows the new length from here (use --lr-schedule exp to extend runs)\n")
      :format(ck.options.epochs, opts.epochs))
  end
  use_precision()
  return opts
end

--- adam(modules, opts, train_set) -> Adam over the parameters of all the
-- modules, lr opts.lr decaying by opts.lr_decay per epoch (or onecycle); with
-- opts.optimizer == "rmsprop", TensorFlow 1's RMSProp with momentum 0.9 and
-- epsilon 1e-2 / batch^2 on the same schedule (the stacked capsule
-- autoencoders' official optimiser)
function experiment.adam(modules, opts, train_set)
  local optim = require "capsrun.optim"
  local params, grads = {}, {}
  for _, m in ipairs(modules) do
    local p, g = m:parameters()
    for i = 1, #p do params[#params + 1] = p[i]; grads[#grads + 1] = g[i] end
  end
  local per_epoch = (train_set.n + opts.batch - 1) // opts.batch
  local total = math.max(1, per_epoch * opts.epochs)
  local settings = {lr = opts.lr, decay_rate = opts.lr_decay, decay_steps = per_epoch,
    schedule = opts.lr_schedule or "exp", total_steps = total,
    warmup_steps = experiment.warmup_steps(opts.warmup or 0, total)}
  if opts.optimizer ~= "rmsprop" then return optim.Adam.new(params, grads, settings) end
  settings.momentum, settings.eps = 0.9, 1e-2 / opts.batch ^ 2
  return optim.RMSProp.new(params, grads, settings)
end

--- warmup_steps(fraction, total) -> steps of onecycle's warm-up: the fraction
-- of the run, but at least min(100, 30% of it). A short run (a small image
-- folder: 45 steps in 3 epochs) would otherwise take its first steps at
-- nearly the peak rate, where CapsNet saturates every capsule (all
-- predictions one class) and the CNN's loss jumps 20-fold; MNIST's 3,750
-- steps keep exactly their 5%.
function experiment.warmup_steps(fraction, total)
  if fraction <= 0 then return 0 end
  return math.max(math.floor(fraction * total), math.floor(math.min(100, 0.3 * total)))
end

--- mkdir_p(dir): creates dir and its parents
function experiment.mkdir_p(dir)
  local path = dir:sub(1, 1) == "/" and "" or "."
  for part in dir:gmatch("[^/]+") do
    path = path .. "/" .. part
    local ok, err = native.mkdir(path)
    if not ok then error("cannot create folder " .. err, 2) end
  end
end

--- dirname(path) -> its folder, "." when none
function experiment.dirname(path)
  return path:match("^(.*)/[^/]*$") or "."
end

--- resize_option(text) -> {h, w} from "HxW", or nil; fails with exit 2 on anything else
function experiment.resize_option(text)
  if not text then return nil end
  local h, w = text:match("^(%d+)x(%d+)$")
  h, w = tonumber(h), tonumber(w)
  if not h or h < 1 or w < 1 or h > 4096 or w > 4096 then
    experiment.fail(2, ("--resize: HxW with sides in [1, 4096] expected, got '%s'"):format(text))
  end
  return {h, w}
end

-- progress of loading an image folder, on a terminal
local function load_progress(split)
  if not native.isatty(1) or not dist.is_main() then return nil end
  local t0 = native.wallclock()
  return function(done, total)
    local secs = native.wallclock() - t0
    io.write(("\r  reading %s: %d%% (%.0f files/s)   "):format(split, 100 * done // total,
      done / 2 / math.max(secs, 1e-3)))
    if done == total then io.write("\r", (" "):rep(60), "\r") end
    io.flush()
  end
end

--- load_data(opts) -> train set, test set; prints the error and exits 1 when missing
function experiment.load_data(opts)
  local resize = experiment.resize_option(opts.resize)
  local ok, tr, te = pcall(function()
    local a = data.load(opts.dataset, "train", {dir = opts.data, limit = opts.limit, resize = resize,
      progress = load_progress("train")})
    local b = data.load(opts.dataset, "test", {dir = opts.data, limit = opts.limit and math.max(1, opts.limit // 6),
      resize = resize, progress = load_progress("test")})
    return a, b
  end)
  if not ok then experiment.fail(1, plain(tr)) end
  return tr, te
end

--- progress(epoch, t0 [, opts [, start]]) -> nil (opts.quiet), or a function(done,
-- total, loss) showing the epoch's progress: on a terminal one line rewritten
-- twice a second; in a log (stdout not a terminal) a plain line every
-- opts.progress_every seconds (30), so a long run's log is never minutes of silence.
-- start: images of the epoch trained before t0 (a resumed run's), left out of the rate
function experiment.progress(epoch, t0, opts, start)
  opts, start = opts or {}, start or 0
  if opts.quiet then return nil end
  local tty = native.isatty(1)
  local every = tty and 0.5 or (opts.progress_every or 30)
  local last = tty and 0 or t0
  return function(done, total, loss)
    local now = native.wallclock()
    -- a terminal also shows the epoch's last batch; a log gets the epoch line next anyway
    local due = now - last >= every or (tty and done >= total)
    if not due or (not tty and done >= total) then return end
    last = now
    local rate = (done - start) / math.max(now - t0, 1e-9)
    local text = ("epoch %d: %d/%d images, loss %.4f, %.1f images/s, ETA %ds"):format(
      epoch, done, total, loss, rate, math.floor((total - done) / math.max(rate, 1e-9)))
    io.write(tty and ("\r  " .. text .. "   ") or ("  " .. text .. "\n"))
    io.flush()
  end
end

--- end_progress(show): clears the progress line of a terminal
function experiment.end_progress(show)
  if show and native.isatty(1) then io.write("\r", (" "):rep(78), "\r") end
end

--- option_values(opts) -> the options a checkpoint keeps: all but the
-- loaded checkpoint and the ones a resumed run takes from its command line
local function option_values(opts)
  local out = {}
  for k, v in pairs(opts) do
    if k ~= "resume_state" and not LOCAL_OPTIONS[k] then out[k] = v end
  end
  return out
end

experiment.option_values = option_values

--- open_metrics(path, columns, first_epoch) -> file: the metrics CSV, new, or
-- on resume keeping the rows of finished epochs (padded with nan where the
-- run now measures more columns)
function experiment.open_metrics(path, columns, first_epoch)
  local kept = {table.concat(columns, ",")}
  if first_epoch > 1 then
    local old = io.open(path, "r")
    if old then
      old:read("l")
      for line in old:lines() do
        local e = tonumber(line:match("^(%d+),"))
        local _, commas = line:gsub(",", "")
        if e and e < first_epoch then kept[#kept + 1] = line .. (",nan"):rep(math.max(0, #columns - 1 - commas)) end
      end
      old:close()
    end
  end
  -- the kept rows reach the disk before training goes on: a resumed run killed in its
  -- first epoch must not leave the earlier epochs' rows only in a write buffer
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "w")
  if not f then experiment.fail(1, "cannot write the metrics: " .. err) end
  f:write(table.concat(kept, "\n"), "\n")
  f:close()
  local ok, rerr = os.rename(tmp, path)
  if not ok then experiment.fail(1, "cannot write the metrics: " .. rerr) end
  f, err = io.open(path, "a")
  if not f then experiment.fail(1, "cannot write the metrics: " .. err) end
  return f
end

--- say_machine(): the lines every training run prints first: the BLAS
-- core and threads (generic kernels must never go unnoticed) and the
-- precision of the convolution GEMMs
function experiment.say_machine()
  experiment.say(native.blas_info().description)
  local precision, how = native.precision()
  experiment.say(("convolution GEMMs in %s%s"):format(precision, how and (" (" .. how .. ")") or ""))
end

--- warn(text): a warning on stderr, on the main rank, in plain words
function experiment.warn(text)
  if dist.is_main() then io.stderr:write("warning: ", text, "\n"); io.stderr:flush() end
end

--- loss_watch(opts) -> function(loss, optimizer) that warns, once, when a
-- batch's loss jumps to more than 10x the lowest seen so far (and above 1):
-- the sign of a learning rate too high for the model and the data
function experiment.loss_watch(opts)
  local lowest, warned = math.huge, false
  return function(loss, optimizer)
    if warned then return end
    if loss > 10 * lowest and loss > 1 then
      warned = true
      experiment.warn(("the loss jumped from %.4g to %.4g at step %d (learning rate %.3g): the rate may be "
        .. "too high for this model and data; try --lr %.3g, or a longer --warmup"):format(lowest, loss,
        optimizer.step_count, optimizer:current_lr(), opts.lr / 4))
    end
    lowest = math.min(lowest, loss)
  end
end

--- warn_one_class(predicted, set, epoch, opts, steps): says so when every test
-- image of an epoch was predicted as one class (a model that has collapsed,
-- or not started to learn: its accuracy is just that class's share)
function experiment.warn_one_class(predicted, set, epoch, opts, steps)
  if not predicted or set.classes < 2 or set.n < 2 then return end
  for class, count in pairs(predicted) do
    if count == set.n then
      local name = set.class_names and set.class_names[class + 1] or tostring(class)
      experiment.warn(("after epoch %d every one of the %d test images is predicted as class '%s': the model "
        .. "has collapsed to one class or not started to learn (%d training steps so far). More --epochs, "
        .. "a lower --lr (now %.3g) or a longer --warmup usually help on small data sets"):format(epoch, set.n, name,
        steps, opts.lr))
    end
  end
end

--- interruptible(fn, note): runs fn; Ctrl-C (the host's "interrupted!")
-- stops the experiment with exit status 130 and one line saying where it
-- stopped and how to go on (note() -> text), instead of a traceback. Other
-- errors go on up with their traceback.
function experiment.interruptible(fn, note)
  local ok, err = xpcall(fn, function(e)
    if type(e) == "string" and e:find("interrupted!$") then return {interrupted = true} end
    if type(e) == "table" then return e end   -- capsrun.exit
    return debug.traceback(tostring(e), 2)
  end)
  if ok then return end
  if type(err) == "table" and err.interrupted then
    io.write("\n")
    experiment.fail(130, "interrupted: " .. note())
  end
  error(err, 0)
end

--- train(clf, optimizer, train_set, test_set, gen, opts) runs the epochs,
-- printing a line and writing a CSV row per epoch, checkpointing when asked,
-- then plots the curves. Resumes from opts.resume_state. opts.stop_when(row)
-- returning true ends the run after that epoch. opts.epoch_metrics, a list
-- of {name, fn [, csv_only = true] [, label = text]}, adds a column (and a
-- figure on the epoch line, unless csv_only, named label or the name with
-- spaces) per entry: fn() measured after each epoch's
-- test. opts.title names the curves.
-- opts.loop changes what an epoch trains on and how it is measured, for
-- experiments whose examples are not the images of a set (multimnist.lua):
--   batches(start): train.epoch's hook (clf.forward_backward then trains on them);
--   prepare(images) -> images: each batch, whole, before it is split across ranks;
--   evaluate(clf, test_set) -> accuracy, loss, recon mse, predicted counts;
--   accuracy: what the accuracy is called on the epoch line ("acc").
-- Returns the rows.
function experiment.train(clf, optimizer, train_set, test_set, gen, opts)
  local main = dist.is_main()
  local loop = opts.loop or {}
  local dir = experiment.dirname(opts.save)
  if main then experiment.try(nil, experiment.mkdir_p, dir) end
  experiment.say_machine()
  local say = experiment.say
  local named = train.named(clf.decoder and clf or clf.model)
  local buffers = train.named_buffers(clf.decoder and clf or clf.model)
  local first, start, order = 1, 0, nil
  if opts.resume_state then
    first, start, order = checkpoint.restore(opts.resume_state, named, optimizer, gen, loop.batches ~= nil, buffers)
    say(("resumed from %s: epoch %d, image %d, step %d"):format(opts.checkpoint, first, start, optimizer.step_count))
  end
  dist.broadcast_params_(optimizer.params)          -- every rank starts from rank 0's parameters
  if opts.checkpoint and main then
    experiment.try(nil, experiment.mkdir_p, experiment.dirname(opts.checkpoint))
    native.remove_stale_temps(opts.checkpoint)   -- left by a run killed while writing
  end
  local last_saved   -- {epoch, image} of the last checkpoint written
  local function save_checkpoint(epoch, done, ord)
    if not main then return end
    experiment.try("cannot save the checkpoint", checkpoint.save, opts.checkpoint, {named = named, buffers = buffers,
      optimizer = optimizer, gen = gen, epoch = epoch,
      done = done, order = ord, options = option_values(opts)})
    last_saved = {epoch, done}   -- only once it is written: an interrupted write leaves the previous one
  end
  local metrics_path = opts.metrics or (dir .. "/metrics.csv")
  local columns = {"epoch", "loss", "train_acc", "test_acc", "test_loss", "seconds", "images_per_s", "lr"}
  if clf.decoder then columns[#columns + 1] = "train_recon_mse"; columns[#columns + 1] = "test_recon_mse" end
  local extra = opts.epoch_metrics or {}
  for _, m in ipairs(extra) do columns[#columns + 1] = m[1] end
  local f = main and experiment.open_metrics(metrics_path, columns, first)
  local rows = {}
  local watch_loss = experiment.loss_watch(opts)
  local function run_epochs()
    for epoch = first, opts.epochs do
      local t0 = native.wallclock()
      local show = main and experiment.progress(epoch, t0, opts, start)
      local batches = 0
      local eopts = {batch = opts.batch, gen = gen, shift = opts.shift, flip = opts.flip, order = order, start = start,
                     batches = loop.batches, prepare = loop.prepare}
      eopts.on_batch = function(done, total, loss)
        if show then show(done, total, loss) end
        watch_loss(loss, optimizer)
        batches = batches + 1
        if opts.checkpoint and opts.checkpoint_every > 0 and batches % opts.checkpoint_every == 0 and done < total then
          save_checkpoint(epoch, done, eopts.order)
        end
      end
      local loss, train_acc, train_mse = train.epoch(clf, optimizer, train_set, eopts)
      local train_s = native.wallclock() - t0
      local test_acc, test_loss, test_mse, predicted = (loop.evaluate or train.evaluate)(clf, test_set, 100)
      local row = {epoch = epoch, loss = loss, train_acc = train_acc, test_acc = test_acc, test_loss = test_loss,
        seconds = native.wallclock() - t0, images_per_s = (train_set.n - start) / train_s, lr = optimizer:current_lr(),
        train_recon_mse = train_mse, test_recon_mse = test_mse}
      local notes = {}
      for _, m in ipairs(extra) do
        row[m[1]] = m[2]()
        local label, v = m.label or m[1]:gsub("_", " "), row[m[1]]
        if not m.csv_only then
          notes[#notes + 1] = m[1]:match("_acc$") and ("  %s %.2f%%"):format(label, 100 * v) or ("  %s %.4g"):format(label, v)
        end
      end
      experiment.end_progress(show)
      local acc = loop.accuracy or "acc"
      say(("epoch %d  loss %.5f  train %s %.2f%%  test %s %.2f%%%s%s  %.1f s (%.1f images/s)"):format(
        epoch, loss, acc, 100 * train_acc, acc, 100 * test_acc,
        test_mse and ("  test recon mse %.5f"):format(test_mse) or "", table.concat(notes), row.seconds,
        row.images_per_s))
      local cells = {}
      for i, c in ipairs(columns) do cells[i] = ("%.6g"):format(row[c]) end
      if f then f:write(table.concat(cells, ","), "\n"); f:flush() end
      rows[#rows + 1] = row
      experiment.warn_one_class(predicted, test_set, epoch, opts, optimizer.step_count)
      if opts.checkpoint then save_checkpoint(epoch + 1, 0, nil) end
      order, start = nil, 0
      if opts.stop_when and opts.stop_when(row) then
        say(("stopping after epoch %d: %s"):format(epoch, opts.stop_reason or "target reached"))
        break
      end
    end
  end
  experiment.interruptible(run_epochs, function()
    if not opts.checkpoint then
      return "no --checkpoint was given, so there is nothing to resume from; give --checkpoint PATH "
        .. "(and --checkpoint-every N) to be able to"
    end
    if not last_saved then return "no checkpoint was written yet in " .. opts.checkpoint end
    return ("the last checkpoint is %s (epoch %d, image %d); continue with: capsrun %s --checkpoint %s --resume")
      :format(opts.checkpoint, last_saved[1], last_saved[2], arg and arg[0] or "SCRIPT", opts.checkpoint)
  end)
  if f then f:close() end
  if #rows > 0 and main then experiment.curves(metrics_path, dir, opts.title) end
  return rows
end

--- curves(metrics_path, dir [, title]): the curves of a metrics CSV into
-- dir/curves.png, and a line saying where both are
function experiment.curves(metrics_path, dir, title)
  local png = dir .. "/curves.png"
  experiment.try("cannot draw the curves", plot.metrics, metrics_path, png, title)
  experiment.say(("metrics in %s, curves in %s"):format(metrics_path, png))
end

return experiment
