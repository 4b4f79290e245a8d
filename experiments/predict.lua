-- predict.lua: classify your own digit images with trained weights,
-- and show the reconstruction from the winning capsule when the weights
-- include a decoder (from reconstruct.lua).
--
--   capsrun experiments/predict.lua --load runs/classify/capsnet.tensors my-digit.png
--   capsrun experiments/predict.lua --load runs/reconstruct/capsnet.tensors --invert a.png b.png
-- Images must be grey or colour PNGs of the training size (28x28 for MNIST),
-- white digit on black like MNIST (--invert for black on white).
local capsrun = require "capsrun"

local experiment = require "capsrun.experiment"
local opts = capsrun.cli.parse(arg, {
  {"load", "string", "runs/classify/capsnet.tensors", "weights from classify.lua or reconstruct.lua"},
  {"invert", "flag", false, "the images are dark digits on a light background"},
  {"routing-iters", "int", 3, "dynamic routing iterations", min = 1},
  {"classes", "int", 10, "number of classes of the weights", min = 2},
  {"out", "string", nil, "write input and reconstruction side by side to this PNG (autoencoders)"},
  positional = {name = "IMAGE.png ...", help = "the images to classify", min = 1},
}, "usage: capsrun experiments/predict.lua [options] IMAGE.png ...")
local files = opts.positional

local images = {}
for i, f in ipairs(files) do
  local img = experiment.try(nil, capsrun.read_png, f)
  if opts.invert then img = 1 - img end
  if i > 1 and (img:size(1) ~= images[1]:size(1) or img:size(2) ~= images[1]:size(2)) then
    experiment.fail(1, ("predict: %s is %dx%d, the first image %dx%d"):format(f, img:size(2), img:size(1),
      images[1]:size(2), images[1]:size(1)))
  end
  images[i] = img
end
local h, w = images[1]:size(1), images[1]:size(2)
local flat = {}
for i, img in ipairs(images) do flat[i] = img:reshape(1, h * w) end
flat = capsrun.cat(flat)                                       -- (n, h*w)
local batch = flat:reshape(#images, 1, h, w)

local model = experiment.try(nil, capsrun.CapsNet.new, {input = {1, h, w}, classes = opts.classes,
  routing_iters = opts.routing_iters})
local decoder = capsrun.Decoder.new(opts.classes, model.config.digit_dim, h * w)
local with_decoder = pcall(capsrun.train.load, {model = model, decoder = decoder}, opts.load)
if not with_decoder then
  experiment.try("predict", capsrun.train.load, model, opts.load)
end
model:evaluate()
local v = model:forward(batch)
local lengths = capsrun.Length.new():forward(v)               -- (n, classes)
local pred = lengths:argmax()
for i, f in ipairs(files) do
  local scores = {}
  for j = 1, opts.classes do scores[j] = ("%.2f"):format(lengths:get(i, j)) end
  print(("%s: class %d (capsule lengths %s)"):format(f, math.tointeger(pred:get(i)), table.concat(scores, " ")))
end
if opts.out then
  if not with_decoder then experiment.fail(1, "predict: --out needs weights with a decoder (from reconstruct.lua)") end
  local recon = decoder:forward(v)                            -- masked by the longest capsule
  local grid = capsrun.cat{flat, recon}:reshape(2, #images, h, w)  -- inputs over reconstructions
  capsrun.write_png_grid(opts.out, grid, {cols = #images, scale = 3, spacing = 2})
  print("input above reconstruction in " .. opts.out)
end
