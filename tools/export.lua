-- export.lua: writes any data set capsrun reads as an image folder,
-- DIR/train/<class>/<index>.png and DIR/test/<class>/<index>.png, so that
-- you can look at it, or feed it to other tools (and so that the folder
-- reader is tested against IDX on the same pixels).
--
--   capsrun tools/export.lua --dataset fashion out/fashion
--   capsrun tools/export.lua --data ../shared/data/mnist --limit 600 out/mnist-600
local capsrun = require "capsrun"
local experiment = capsrun.experiment
local native = capsrun.native

local opts = capsrun.cli.parse(arg, {
  {"data", "string", nil, "folder of the data set (as for the experiments)"},
  {"dataset", "string", "mnist", "mnist, fashion or cifar10", choices = {"mnist", "fashion", "cifar10"}},
  {"limit", "int", nil, "only the first N training and N/6 test images", min = 1},
  positional = {name = "OUT", help = "the folder to write (created)", min = 1},
}, "usage: capsrun tools/export.lua [options] OUT")
local out = opts.positional[1]
local train_set, test_set = experiment.load_data(opts)

-- a class's folder name: its name when the data has names, else its index;
-- characters a file name cannot hold become '_'
local function class_dir(set, label)
  local name = set.class_names and set.class_names[label + 1] or tostring(label)
  return (name:gsub("[/%c]", "_"))
end

-- a folder needs every class in both splits (data/folder.lua refuses empty classes)
for _, set in ipairs{train_set, test_set} do
  local seen = {}
  for i = 1, set.n do seen[math.tointeger(set.labels:get(i))] = true end
  for label = 0, set.classes - 1 do
    if not seen[label] then
      capsrun.exit(1, ("export: the %s split has no image of class %s; an image folder needs every class in "
        .. "both splits (a larger --limit?)"):format(set.split, class_dir(set, label)))
    end
  end
end

for _, set in ipairs{train_set, test_set} do
  local c, h, w = set.images:size(2), set.images:size(3), set.images:size(4)
  for label = 0, set.classes - 1 do
    experiment.try(nil, experiment.mkdir_p, ("%s/%s/%s"):format(out, set.split, class_dir(set, label)))
  end
  local digits = #tostring(set.n - 1)
  for i = 1, set.n do
    local label = math.tointeger(set.labels:get(i))
    local path = ("%s/%s/%s/%0" .. digits .. "d.png"):format(out, set.split, class_dir(set, label), i - 1)
    local img = native.narrow(set.images, i, 1)
    if c == 3 then
      experiment.try(nil, native.write_png_grid, path, img:reshape(3, h, w), {spacing = 0, rgb = true})
    else
      experiment.try(nil, native.write_png_grid, path, img:reshape(h, w), {spacing = 0})
    end
  end
  print(("%s: %d images of %dx%dx%d in %s/%s"):format(set.split, set.n, c, h, w, out, set.split))
end
