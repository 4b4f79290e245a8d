-- predict.lua: classify your own images with trained weights: the weights
-- file says what model it is (input size, channels, classes and their
-- names), so no options are needed. Every image is brought to the model's
-- input: MNIST's preprocessing for digit models (ink fitted in 20x20,
-- centred by mass in 28x28), a bilinear resize otherwise; colour and grey
-- are converted. With --out, the reconstruction from the winning capsule
-- (weights from reconstruct.lua).
--
--   capsrun experiments/predict.lua --load runs/classify/capsnet.tensors my-digit.png
--   capsrun experiments/predict.lua --load runs/reconstruct/capsnet.tensors --invert --top 3 photos/
local capsrun = require "capsrun"
local experiment = require "capsrun.experiment"
local preprocess = require "capsrun.preprocess"
local opts = capsrun.cli.parse(arg, {
  {"load", "string", "runs/classify/capsnet.tensors", "weights from classify.lua or reconstruct.lua"},
  {"invert", "flag", false, "the images are dark on a light background (MNIST is light on dark)"},
  {"guess-invert", "flag", false, "invert each image that looks like dark ink on a light page (mostly light)"},
  {"top", "int", 3, "how many classes to print per image", min = 1},
  {"out", "string", nil, "write inputs and reconstructions to this PNG (weights with a decoder)"},
  positional = {name = "DIR_OR_IMAGES ...", help = "PNG or JPEG images, or folders of them", min = 1},
}, "usage: capsrun experiments/predict.lua [options] DIR_OR_IMAGES ...")

local model, decoder, cfg = experiment.try("predict", capsrun.train.load_model, opts.load)
local input = cfg.input
local digits = cfg.dataset == "mnist"

-- the files: images given, and the images (.png, .jpg, .jpeg) of folders given
local is_image = require("capsrun.folder").is_image_name
local candidates = {}
for _, path in ipairs(opts.positional) do
  local entries = capsrun.native.listdir(path)
  if entries then
    for _, e in ipairs(entries) do
      if not e.dir and is_image(e.name) then candidates[#candidates + 1] = path .. "/" .. e.name end
    end
  else
    candidates[#candidates + 1] = path
  end
end
if #candidates == 0 then
  experiment.fail(1, "predict: no image (.png, .jpg, .jpeg) in " .. table.concat(opts.positional, ", "))
end

-- every image that can be read; the others listed, not fatal
local files, rows, unreadable = {}, {}, {}
for _, f in ipairs(candidates) do
  local ok, img = pcall(capsrun.read_image, f, input[1])
  if not ok then
    unreadable[#unreadable + 1] = ("  %s"):format((tostring(img):gsub("^[^\n:]+:%d+: ", "")))
  else
    local h, w = img:size(img:dim() - 1), img:size(img:dim())
    local light = img:mean() > 0.5
    if opts.invert or (opts.guess_invert and light) then img = 1 - img
    elseif light and digits then
      print(("%s: looks like dark ink on a light page, and the model reads light ink on dark (MNIST): "
        .. "give --invert, or --guess-invert"):format(f))
    end
    if h < input[2] or w < input[3] then
      print(("%s: %dx%d pixels, smaller than the model's %dx%d input: upsampled, expect blur"):format(f, w, h,
        input[3], input[2]))
    end
    local x, note = preprocess.to_input(img, input, digits)
    if x:max() - x:min() < 1e-3 then print(("%s: blank after preprocessing (one flat value)"):format(f)) end
    files[#files + 1] = f
    rows[#files] = x:reshape(1, input[1], input[2], input[3])
    if note ~= "as it is" then print(("%s: %s"):format(f, note)) end
  end
end
if #unreadable > 0 then
  print(("could not read %d of %d images:\n%s"):format(#unreadable, #candidates, table.concat(unreadable, "\n")))
end
if #files == 0 then experiment.fail(1, "predict: none of the images could be read") end

local batch = capsrun.cat(rows)                                 -- (n, c, h, w)
model:evaluate()
local out = model:forward(batch)
local clf = capsrun.train.classifier(model)
local scores = clf.head and clf.head:forward(out) or out
local what = clf.head and "capsule lengths" or "logits"
local best = {}   -- each image's predicted class name, for the figure
for i, f in ipairs(files) do
  local ranked = {}
  for j = 1, scores:size(2) do ranked[j] = {j - 1, scores:get(i, j)} end
  table.sort(ranked, function(a, b) return a[2] > b[2] end)
  local parts = {}
  for k = 1, math.min(opts.top, #ranked) do
    local name = cfg.class_names and cfg.class_names[ranked[k][1] + 1] or tostring(ranked[k][1])
    parts[k] = ("%s %.2f"):format(name, ranked[k][2])
  end
  print(("%s: %s (%s)"):format(f, table.concat(parts, ", "), what))
  best[i] = parts[1]
end

if opts.out then
  if not decoder then experiment.fail(1, "predict: --out needs weights with a decoder (from reconstruct.lua)") end
  local recon = decoder:forward(out)                           -- masked by the longest capsule
  local c, h, w = input[1], input[2], input[3]
  local grid = capsrun.cat{batch:reshape(#files, c * h * w), recon}
  local captions = {}
  for i, f in ipairs(files) do
    captions[i] = {f:match("[^/]+$"), {best[i], color = "blue"}}
    captions[#files + i] = {}
  end
  experiment.try(nil, capsrun.write_png_captioned, opts.out, grid:reshape(2 * #files, c, h, w), captions,
    {cols = #files, scale = 3, row_labels = {"input", "decoded"},
     title = "each image as the model sees it, its prediction (class and capsule length), and the reconstruction"})
  print("inputs above reconstructions in " .. opts.out)
end
