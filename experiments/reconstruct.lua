-- reconstruct.lua: the CapsNet autoencoder of Sabour et al. (2017): margin
-- loss plus 0.0005 x the per-image sum of squared pixel errors of a decoder
-- that sees only one digit capsule. Reports test accuracy and the mean
-- per-pixel reconstruction error (decoder masked by the predicted capsule),
-- and writes reconstructions.png: test images above their reconstructions.
-- --model efficient trains Efficient-CapsNet with the same decoder (its paper's
-- 0.392 x mean squared error is this 0.0005 x summed error on 28x28).
--
--   capsrun experiments/reconstruct.lua --epochs 3
--   capsrun experiments/reconstruct.lua --model efficient --batch 16 --lr 5e-4 --lr-schedule exp --lr-decay 0.98
--   capsrun experiments/reconstruct.lua --load runs/reconstruct/capsnet.tensors --epochs 0
local capsrun = require "capsrun"
local experiment = require "capsrun.experiment"
local native = capsrun.native

local models = capsrun.models
-- the models whose output is class capsules, which the decoder reconstructs from
local function fits(d) return d.output == "capsules" end
local extra = {models.option("capsnet", fits)}
for _, o in ipairs{
  {"load", "string", nil, "start from these weights (model and decoder), or a checkpoint's"},
  {"recon-weight", "number", 0.0005, "weight of the summed squared reconstruction error"},
  {"columns", "int", 10, "test images in reconstructions.png (the first of each class, then more)", min = 1},
  {"figure", "string", nil, "reconstruction figure (default: reconstructions.png beside --save)"},
  {"scale", "int", 3, "pixel scale of the figure", min = 1},
} do extra[#extra + 1] = o end
local opts = experiment.parse(arg, experiment.options({save = "runs/reconstruct/capsnet.tensors"},
  models.options(extra, fits)),
  "usage: capsrun experiments/reconstruct.lua [options]")
local gen = capsrun.manual_seed(opts.seed)
local train_set, test_set = experiment.load_data(opts)
local c, h, w = train_set.images:size(2), train_set.images:size(3), train_set.images:size(4)

if opts.model ~= "capsnet" and opts.save == "runs/reconstruct/capsnet.tensors" then
  opts.save = ("runs/reconstruct/%s.tensors"):format(opts.model)
end
local described = models.get(opts.model)
local model = models.build(opts, train_set, gen, {decoder_pixels = c * h * w,
  data_values = (train_set.read_values or train_set.images:numel()) +
  (test_set.read_values or test_set.images:numel())})
local decoder = capsrun.Decoder.new(train_set.classes, described.capsule_dim(model), c * h * w, nil, gen)
local clf = capsrun.train.autoencoder(model, decoder, {recon_weight = opts.recon_weight})
if opts.load then
  experiment.try("reconstruct", capsrun.train.load, clf, opts.load)
end

local optimizer = experiment.adam({model, decoder}, opts, train_set)

local say = experiment.say
say(("capsrun reconstruct: %s, %d train / %d test images of %dx%dx%d from %s"):format(train_set.name,
  train_set.n, test_set.n, c, h, w, train_set.dir))
say(("%s + decoder: %d + %d parameters, %s, batch %d, lr %g, %d threads x %d ranks"):format(described.name,
  model:num_parameters(), decoder:num_parameters(), described.describe and described.describe(opts) or "",
  opts.batch, opts.lr, capsrun.get_threads(), capsrun.dist.size()))

experiment.train(clf, optimizer, train_set, test_set, gen, opts)
if opts.epochs == 0 then
  local acc, _, mse = capsrun.train.evaluate(clf, test_set, 100)
  say(("test acc %.2f%%  test recon mse %.5f (per pixel, masked by the predicted capsule)"):format(100 * acc, mse))
end
if not capsrun.dist.is_main() then return end
local dir = experiment.dirname(opts.save)
experiment.try(nil, experiment.mkdir_p, dir)
if opts.epochs > 0 then
  experiment.try("cannot save the weights", capsrun.train.save, clf, opts.save,
    {class_names = train_set.class_names, dataset = train_set.name})
  say("saved model and decoder to " .. opts.save)
end

-- the figure: the first test image of each class, then the next ones in order
local picked, seen = {}, {}
for i = 1, test_set.n do
  local c = test_set.labels:get(i)
  if not seen[c] then seen[c] = true; picked[#picked + 1] = i - 1 end
  if #picked == math.min(opts.columns, train_set.classes) then break end
end
table.sort(picked, function(a, b) return test_set.labels:get(a + 1) < test_set.labels:get(b + 1) end)
for i = 0, test_set.n - 1 do
  if #picked >= opts.columns then break end
  local dup = false
  for _, p in ipairs(picked) do if p == i then dup = true end end
  if not dup then picked[#picked + 1] = i end
end
local idx = capsrun.tensor(picked)
local images = native.index_select(test_set.images, idx)            -- (n, 1, h, w)
model:evaluate()
local v = model:forward(images)
local recon = decoder:forward(v)                                      -- masked by the longest capsule
local predicted = capsrun.Length.new():forward(v):argmax()
local grid = capsrun.cat{images:reshape(#picked, c * h * w), recon}   -- images over reconstructions
local figure = opts.figure or (dir .. "/reconstructions.png")
-- captions: each image's label, and the prediction whose capsule drew it (green right, red wrong)
local names = test_set.class_names
local function name(k) return names and names[k + 1] or tostring(k) end
local captions = {}
for k, i in ipairs(picked) do
  local label, pred = math.tointeger(test_set.labels:get(i + 1)), math.tointeger(predicted:get(k))
  captions[k] = {"label " .. name(label)}
  captions[#picked + k] = {{"from " .. name(pred), color = pred == label and "green" or "red"}}
end
experiment.try(nil, capsrun.write_png_captioned, figure, grid:reshape(2 * #picked, c, h, w), captions,
  {cols = #picked, scale = opts.scale, title = "test images, and below each the decoder's reconstruction from its "
    .. "longest class capsule", row_labels = {"input", "decoded"}})
print("reconstructions (top: test images, bottom: decoded from the predicted capsule) in " .. figure)
