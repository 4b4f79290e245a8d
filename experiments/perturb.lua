-- perturb.lua: what each digit-capsule dimension encodes (Sabour et al.
-- 2017, figure 4). From a trained autoencoder's weights, for each chosen
-- test image: take the capsule of the predicted class, add delta to one of
-- its 16 dimensions at a time, decode. One PNG per image: a row per
-- dimension, a column per delta, the original image at the left.
--
--   capsrun experiments/perturb.lua --load runs/reconstruct/capsnet.tensors
--   capsrun experiments/perturb.lua --images 0,1,2 --from -0.3 --to 0.3 --step 0.1
local capsrun = require "capsrun"
local experiment = require "capsrun.experiment"

local opts = capsrun.cli.parse(arg, {
  {"load", "string", "runs/reconstruct/capsnet.tensors", "autoencoder weights (from reconstruct.lua), or a checkpoint"},
  {"data", "string", nil, "folder of the test set (IDX, CIFAR-10 or an image folder)"},
  {"dataset", "string", "mnist", "mnist, fashion or cifar10", choices = {"mnist", "fashion", "cifar10"}},
  {"images", "string", nil, "comma-separated 0-based test image indices (default: the first of each class)"},
  {"from", "number", -0.25, "smallest delta"},
  {"to", "number", 0.25, "largest delta"},
  {"step", "number", 0.05, "delta step"},
  {"routing-iters", "int", nil, "dynamic routing iterations (default: the weights' own)", min = 1},
  {"out", "string", "runs/perturb", "folder for perturb-<class>-<index>.png"},
  {"scale", "int", 2, "pixel scale of the figures", min = 1},
}, "usage: capsrun experiments/perturb.lua [options]")

local test_set = experiment.try(nil, capsrun.data.load, opts.dataset, "test", {dir = opts.data})
local c, h, w = test_set.images:size(2), test_set.images:size(3), test_set.images:size(4)
local indices = {}
if opts.images then
  for s in opts.images:gmatch("[^,]+") do
    local i = math.tointeger(tonumber(s))
    if not i or i < 0 or i >= test_set.n then
      experiment.fail(2, ("perturb: --images: '%s' is not a test index in [0, %d]"):format(s, test_set.n - 1))
    end
    indices[#indices + 1] = i
  end
else
  local seen = {}
  for i = 0, test_set.n - 1 do
    local c = test_set.labels:get(i + 1)
    if not seen[c] then seen[c] = true; indices[#indices + 1] = i end
  end
  table.sort(indices, function(a, b) return test_set.labels:get(a + 1) < test_set.labels:get(b + 1) end)
end

local model, decoder, cfg = experiment.try("perturb", capsrun.train.load_model, opts.load)
if not decoder then experiment.fail(1, "perturb: " .. opts.load .. " has no decoder (train it with reconstruct.lua)") end
if cfg.input[1] ~= c or cfg.input[2] ~= h or cfg.input[3] ~= w then
  experiment.fail(1, ("perturb: the weights are for %s images, the test set's are %dx%dx%d")
    :format(table.concat(cfg.input, "x"), c, h, w))
end
if opts.routing_iters then model.digitcaps.routing_iters = opts.routing_iters end

experiment.try(nil, experiment.mkdir_p, opts.out)
local gok, gerr = pcall(capsrun.perturb.deltas, opts.from, opts.to, opts.step)
if not gok then experiment.fail(2, tostring(gerr)) end
for _, i in ipairs(indices) do
  local image = test_set.images:narrow(i + 1, 1)                      -- (1, c, h, w)
  local grid, class = capsrun.perturb.grid(model, decoder, image, {from = opts.from, to = opts.to, step = opts.step})
  local dims, steps = grid:size(1), grid:size(2)
  -- the original as the first column of every row
  local px = c * h * w
  local rows, original = {}, image:reshape(1, px)
  for d = 1, dims do
    rows[#rows + 1] = original
    rows[#rows + 1] = grid:narrow(d, 1):reshape(steps, px)
  end
  local path = ("%s/perturb-%d-%d.png"):format(opts.out, class, i)
  -- labelled: the dimension on each row, the perturbation on each column, what it shows in the title
  local deltas = capsrun.perturb.deltas(opts.from, opts.to, opts.step)
  local col_labels, row_labels, captions = {"original"}, {}, {}
  for k, d in ipairs(deltas) do col_labels[k + 1] = ("%+.2f"):format(d) end
  for d = 1, dims do row_labels[d] = "dim " .. d end
  for k = 1, dims * (steps + 1) do captions[k] = {} end
  local names = test_set.class_names
  local function name(k) return names and names[k + 1] or tostring(k) end
  local title = ("test image %d (label %s): its class capsule '%s' with one of its %d dimensions changed per row")
    :format(i, name(math.tointeger(test_set.labels:get(i + 1))), name(class), dims)
  experiment.try(nil, capsrun.write_png_captioned, path, capsrun.cat(rows):reshape(dims * (steps + 1), c, h, w),
    captions, {cols = steps + 1, scale = opts.scale, title = title, row_labels = row_labels, col_labels = col_labels})
  print(("test image %d (label %d, predicted %d): %s"):format(i, math.tointeger(test_set.labels:get(i + 1)), class, path))
end
