-- predict.lua: classify your own digit images with a trained checkpoint,
-- and show the reconstruction from the winning capsule when the checkpoint
-- has a decoder (from reconstruct.lua).
--
--   capsrun experiments/predict.lua --load runs/classify/capsnet.tensors my-digit.png
--   capsrun experiments/predict.lua --load runs/reconstruct/capsnet.tensors --invert a.png b.png
-- Images must be grey or colour PNGs of the training size (28x28 for MNIST),
-- white digit on black like MNIST (--invert for black on white).
local capsrun = require "capsrun"

local opts, files = {}, {}
local spec = {
  {"load", "string", "runs/classify/capsnet.tensors", "checkpoint from classify.lua or reconstruct.lua"},
  {"invert", "flag", false, "the images are dark digits on a light background"},
  {"routing-iters", "int", 3, "dynamic routing iterations", min = 1},
  {"classes", "int", 10, "number of classes of the checkpoint", min = 2},
  {"out", "string", nil, "write input and reconstruction side by side to this PNG (autoencoders)"},
}
local rest, takes_value = {}, {}
for _, o in ipairs(spec) do takes_value[o[1]] = o[2] ~= "flag" end
local i = 1
while i <= #arg do                     -- options (with their values) first, then image paths
  local a = arg[i]
  local name = a:match("^%-%-([%w%-]+)$")
  if a:match("^%-%-") then
    rest[#rest + 1] = a
    if name and takes_value[name] and arg[i + 1] then rest[#rest + 1] = arg[i + 1]; i = i + 1 end
  else
    files[#files + 1] = a
  end
  i = i + 1
end
opts = capsrun.cli.parse(rest, spec, "usage: capsrun experiments/predict.lua [options] IMAGE.png ...")
if #files == 0 then io.stderr:write("predict: give at least one .png image\n"); os.exit(2) end

local images = {}
for i, f in ipairs(files) do
  local ok, img = pcall(capsrun.read_png, f)
  if not ok then io.stderr:write(tostring(img), "\n"); os.exit(1) end
  if opts.invert then img = 1 - img end
  if i > 1 and (img:size(1) ~= images[1]:size(1) or img:size(2) ~= images[1]:size(2)) then
    io.stderr:write(("predict: %s is %dx%d, the first image %dx%d\n"):format(f, img:size(2), img:size(1),
      images[1]:size(2), images[1]:size(1)))
    os.exit(1)
  end
  images[i] = img
end
local h, w = images[1]:size(1), images[1]:size(2)
local flat = {}
for i, img in ipairs(images) do flat[i] = img:reshape(1, h * w) end
flat = capsrun.cat(flat)                                       -- (n, h*w)
local batch = flat:reshape(#images, 1, h, w)

local ok, model = pcall(capsrun.CapsNet, {input = {1, h, w}, classes = opts.classes, routing_iters = opts.routing_iters})
if not ok then io.stderr:write(tostring(model), "\n"); os.exit(1) end
local decoder = capsrun.Decoder.new(opts.classes, model.config.digit_dim, h * w)
local with_decoder = pcall(capsrun.train.load, {model = model, decoder = decoder}, opts.load)
if not with_decoder then
  local loaded, err = pcall(capsrun.train.load, model, opts.load)
  if not loaded then io.stderr:write("predict: ", tostring(err), "\n"); os.exit(1) end
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
  if not with_decoder then io.stderr:write("predict: --out needs a checkpoint with a decoder\n"); os.exit(1) end
  local recon = decoder:forward(v)                            -- masked by the longest capsule
  local grid = capsrun.cat{flat, recon}:reshape(2, #images, h, w)  -- inputs over reconstructions
  capsrun.write_png_grid(opts.out, grid, {cols = #images, scale = 3, spacing = 2})
  print("input above reconstruction in " .. opts.out)
end
