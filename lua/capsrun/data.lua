--- Datasets: finding and reading them, seeded shuffling, batching and
-- augmentation (random shifts, horizontal flips, crops). Four formats:
--   IDX files (MNIST, Fashion-MNIST), CIFAR-10 binary batches, smallNORB's
--   binary matrices, and image
--   folders (DIR/train/<class>/*.png, DIR/test/<class>/*.png, as
--   torchvision's ImageFolder reads them).
--
--   local set = data.load("mnist", "train", {dir = nil})  -- images (n, c, h, w) in [0, 1]
--   for images, labels, n in data.batches(set, 128, {gen = g, shift = 2, flip = true}) do ... end
--
-- Labels are 0-based class indices stored as floats (the digit for MNIST);
-- set.class_names names them when the data does.
local native = require "capsrun.native"

local data = {}

data.datasets = {
  mnist = {
    files = {train = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
             test = {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}},
    system_dirs = {},
    how_to_get = "run `capsrun tools/download.lua mnist` (fetches the canonical files and checks " ..
      "their SHA-256), or copy the four MNIST .gz files into one of these folders",
  },
  fashion = {
    files = {train = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
             test = {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}},
    system_dirs = {"/usr/share/datasets/fashion-mnist"},
    how_to_get = "on Debian: apt-get install dataset-fashion-mnist",
    class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
      "Bag", "Ankle boot"},
  },
  cifar10 = {
    format = "cifar",
    files = {train = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                      "data_batch_5.bin"},
             test = {"test_batch.bin"}},
    system_dirs = {},
    how_to_get = "download the CIFAR-10 binary version (cifar-10-binary.tar.gz) from " ..
      "https://www.cs.toronto.edu/~kriz/cifar.html and unpack its cifar-10-batches-bin folder there",
    classes = 10,
  },
}

-- smallNORB (LeCun et al. 2004): 5 categories of toys under 18 azimuths, 9
-- elevations and 6 lightings; 24,300 stereo pairs of 96x96 per split
local NORB_TRAIN, NORB_TEST = "smallnorb-5x46789x9x18x6x2x96x96-training-",
  "smallnorb-5x01235x9x18x6x2x96x96-testing-"
data.datasets.smallnorb = {
  format = "norb",
  files = {train = {NORB_TRAIN .. "dat.mat", NORB_TRAIN .. "cat.mat"},
           test = {NORB_TEST .. "dat.mat", NORB_TEST .. "cat.mat"}},
  system_dirs = {},
  how_to_get = "download the four smallNORB *-dat.mat.gz and *-cat.mat.gz files from " ..
    "https://cs.nyu.edu/~yann/data/norb-v1.0-small/ into one of these folders",
  classes = 5,
  class_names = {"animal", "human", "airplane", "truck", "car"},
  -- Hinton et al. (2018): downsampled to 48x48, standardised per image;
  -- random 32x32 crops with brightness and contrast in training, the
  -- central crop at test (data.batches)
  side = 48, crop = 32,
}

-- SVHN (Netzer et al. 2011), cropped digits: 73,257 training and 26,032
-- test images of 32x32 in colour (the extra 531,131 are not read)
data.datasets.svhn = {
  format = "svhn",
  files = {train = {"train_32x32.mat"}, test = {"test_32x32.mat"}},
  system_dirs = {},
  how_to_get = "download train_32x32.mat and test_32x32.mat (format 2, cropped digits) from " ..
    "http://ufldl.stanford.edu/housenumbers/ into one of these folders",
  classes = 10,
}

local MNIST_NAMES = {}
for d = 0, 9 do MNIST_NAMES[d + 1] = tostring(d) end
data.datasets.mnist.class_names = MNIST_NAMES
data.datasets.svhn.class_names = MNIST_NAMES

local function readable(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

-- path of a file in dir, plain or gzipped
local function locate(dir, name)
  for _, candidate in ipairs({dir .. "/" .. name, dir .. "/" .. name .. ".gz"}) do
    if readable(candidate) then return candidate end
  end
end

--- is_folder_layout(dir): dir holds train/ and test/ class folders
function data.is_folder_layout(dir)
  local entries = dir and native.listdir(dir)
  if not entries then return false end
  local has = {}
  for _, e in ipairs(entries) do if e.dir then has[e.name] = true end end
  return has.train and has.test or false
end

--- candidates(dataset, dir) -> ordered list of folders to look in: dir
-- alone when given (a path the user typed is used or refused, never
-- replaced by another copy), else $CAPSRUN_DATA/<dataset>, ./data/<dataset>
-- and the system folders
function data.candidates(dataset, dir)
  local info = data.datasets[dataset]
  if not info then
    local names = {}
    for k in pairs(data.datasets) do names[#names + 1] = k end
    table.sort(names)
    error(("data: unknown dataset '%s' (known: %s)"):format(tostring(dataset),
      table.concat(names, ", ")), 3)
  end
  if dir then return {dir}, info end
  local list = {}
  local env = os.getenv("CAPSRUN_DATA")
  if env and env ~= "" then list[#list + 1] = env .. "/" .. dataset end
  list[#list + 1] = "./data/" .. dataset
  for _, d in ipairs(info.system_dirs) do list[#list + 1] = d end
  return list, info
end

--- find(dataset, dir) -> folder holding all four files, or an error that
-- lists every place looked at and how to get the files.
function data.find(dataset, dir)
  local list, info = data.candidates(dataset, dir)
  for _, d in ipairs(list) do
    local all = true
    for _, split in pairs(info.files) do
      for _, name in ipairs(split) do
        if not locate(d, name) then all = false end
      end
    end
    if all then return d end
  end
  local where = dir and ("not found in %s (the folder given; no other place is searched)"):format(dir)
    or ("not found. Looked in:\n  " .. table.concat(list, "\n  "))
  error(("data: %s %s\nfor %s (plain or .gz), or an image folder (train/<class>/*, test/<class>/*)."
    .. "\nTo get them: %s"):format(dataset, where, table.concat(info.files.train, ", ") .. ", " ..
    table.concat(info.files.test, ", "), info.how_to_get), 0)
end

-- the first n of images and labels
local function limited(images, labels, limit)
  local n = images:size(1)
  if limit and limit < n then
    n = math.max(1, limit)
    images, labels = images:narrow(1, n), labels:narrow(1, n)
  end
  return images, labels, n
end

local function load_idx(dir, names, opts)
  local ipath, lpath = locate(dir, names[1]), locate(dir, names[2])
  local images = native.read_idx(ipath, 1 / 255)
  local labels = native.read_idx(lpath)
  if images:dim() ~= 3 then
    error(("data.load: %s: 3-D image file (n, h, w) expected, got %d-D"):format(ipath, images:dim()), 0)
  end
  if labels:dim() ~= 1 or labels:size(1) ~= images:size(1) then
    error(("data.load: %s holds %d labels for %d images in %s"):format(lpath,
      labels:numel(), images:size(1), ipath), 0)
  end
  local read = images:numel()
  local n
  images, labels, n = limited(images, labels, opts.limit)
  return images:reshape(n, 1, images:size(2), images:size(3)), labels, read
end

local function load_cifar(dir, names, opts, classes)
  local images, labels = {}, {}
  for i, name in ipairs(names) do
    images[i], labels[i] = native.read_cifar(locate(dir, name), classes)
  end
  local all_images = #images == 1 and images[1] or native.cat(images)
  local all_labels = #labels == 1 and labels[1] or native.cat(labels)
  local read = all_images:numel()
  local a, b = limited(all_images, all_labels, opts.limit)
  return a, b, read
end

-- the left camera's images at 48x48, standardised, and their categories
local function load_norb(dir, names, opts, info)
  local ipath, lpath = locate(dir, names[1]), locate(dir, names[2])
  local images = native.read_norb_images(ipath, info.side, 1)
  local labels = native.read_norb_labels(lpath, info.classes)
  if labels:size(1) ~= images:size(1) then
    error(("data.load: %s holds %d labels for %d images in %s"):format(lpath, labels:size(1), images:size(1), ipath), 0)
  end
  local read = images:numel()
  local a, b = limited(images, labels, opts.limit)
  return native.standardize_(a), b, read
end

local function load_svhn(dir, names, opts)
  local images, labels = native.read_svhn(locate(dir, names[1]))
  local read = images:numel()
  local a, b = limited(images, labels, opts.limit)
  return a, b, read
end

-- class names from CIFAR-10's batches.meta.txt (one per line), when there
local function cifar_names(dir, classes)
  local f = io.open(dir .. "/batches.meta.txt", "r")
  if not f then return nil end
  local names = {}
  for line in f:lines() do
    line = line:gsub("%s+$", "")
    if line ~= "" then names[#names + 1] = line end
  end
  f:close()
  return #names == classes and names or nil
end

--- load(dataset, split, opts) -> {images = (n, c, h, w), labels = (n), n, classes,
-- class_names, dir, name, split}
-- opts.dir: folder to try first (a folder of train/ and test/ class folders
-- is read as an image folder whatever the dataset); opts.limit: keep only the
-- first n images; opts.resize {h, w} and opts.progress for image folders.
function data.load(dataset, split, opts)
  opts = opts or {}
  if split ~= "train" and split ~= "test" then
    error("data.load: split must be 'train' or 'test', got " .. tostring(split), 2)
  end
  if dataset == "folder" or data.is_folder_layout(opts.dir) then
    if not opts.dir then error("data.load: an image folder needs opts.dir", 2) end
    return require("capsrun.folder").load(opts.dir, split, opts)
  end
  local dir = data.find(dataset, opts.dir)
  local info = data.datasets[dataset]
  local images, labels, classes, names, read
  if info.format == "cifar" then
    images, labels, read = load_cifar(dir, info.files[split], opts, info.classes)
    classes, names = info.classes, cifar_names(dir, info.classes)
  elseif info.format == "norb" then
    images, labels, read = load_norb(dir, info.files[split], opts, info)
    classes, names = info.classes, info.class_names
  elseif info.format == "svhn" then
    images, labels, read = load_svhn(dir, info.files[split], opts)
    classes, names = info.classes, info.class_names
  else
    images, labels, read = load_idx(dir, info.files[split], opts)
    classes = math.max(10, math.floor(labels:max()) + 1)
    names = info.class_names
  end
  if opts.resize then images = native.resize_bilinear(images, opts.resize[1], opts.resize[2]) end
  return {images = images, labels = labels, n = images:size(1), classes = classes,
    class_names = names, dir = dir, name = dataset, split = split, crop = info.crop,
    read_values = read + images:numel()}   -- the whole file was read, then the kept part copied
end

--- input_shape(set) -> {c, h, w} of the images a model sees: the crop
-- size where the set is cropped (smallNORB), else the stored size
function data.input_shape(set)
  local c, h, w = set.images:size(2), set.images:size(3), set.images:size(4)
  if set.crop then h, w = set.crop, set.crop end
  return {c, h, w}
end

-- smallNORB's jitter, on standardised images (docs/em.md)
data.NORB_BRIGHTNESS, data.NORB_CONTRAST = 0.25, {0.5, 1.5}

--- batches(set, batch_size, opts) -> iterator of (images, labels, count)
-- opts.gen: shuffle with this generator (else in order); opts.order: use
-- this order (0-based indices) instead; opts.start: skip that many images of
-- it (resuming mid-epoch); opts.shift: random shifts of up to this many
-- pixels (zero padding); opts.flip: mirror half of the images left to right
-- (needs gen). A set with a crop size (smallNORB) yields crops: with gen a
-- random window and random brightness and contrast per image (training),
-- without it the central window (evaluation). The yielded tensors are
-- reused between iterations: copy them to keep them.
function data.batches(set, batch_size, opts)
  opts = opts or {}
  if math.type(batch_size) ~= "integer" or batch_size < 1 then
    error("data.batches: batch size must be a positive integer, got " .. tostring(batch_size), 2)
  end
  local order = opts.order
  if order then
    if order:numel() ~= set.n then error(("data.batches: order of %d indices for %d images"):format(order:numel(), set.n), 2) end
  elseif opts.gen then order = opts.gen:permutation(set.n)
  else order = native.zeros(set.n); for i = 1, set.n do order:set(i, i - 1) end end
  local pos, bufs = opts.start or 0, {}
  return function()
    if pos >= set.n then return nil end
    local count = math.min(batch_size, set.n - pos)
    local idx = native.narrow(order, pos + 1, count)
    pos = pos + count
    bufs.images = native.index_select(set.images, idx, bufs.images)
    bufs.labels = native.index_select(set.labels, idx, bufs.labels)
    if opts.shift and opts.shift > 0 then
      native.random_shift_(bufs.images, opts.shift, opts.gen or error("data.batches: shift needs gen"))
    end
    if opts.flip then
      native.random_flip_(bufs.images, opts.gen or error("data.batches: flip needs gen"))
    end
    if set.crop then
      bufs.crops = native.crop(bufs.images, set.crop, opts.gen, bufs.crops)
      if opts.gen then
        native.jitter_(bufs.crops, opts.gen, data.NORB_BRIGHTNESS, data.NORB_CONTRAST[1], data.NORB_CONTRAST[2])
      end
      return bufs.crops, bufs.labels, count
    end
    return bufs.images, bufs.labels, count
  end
end

return data
