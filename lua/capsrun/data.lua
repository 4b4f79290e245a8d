--- Datasets: finding and reading MNIST-style IDX files, seeded shuffling,
-- batching and random-shift augmentation.
--
--   local set = data.load("mnist", "train", {dir = nil})  -- images (n, 1, 28, 28) in [0, 1]
--   for images, labels, n in data.batches(set, 128, {gen = g, shift = 2}) do ... end
--
-- Labels are the classes themselves (the digit, 0..9), stored as floats.
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
  },
}

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

--- candidates(dataset, dir) -> ordered list of folders to look in
function data.candidates(dataset, dir)
  local info = data.datasets[dataset]
  if not info then
    local names = {}
    for k in pairs(data.datasets) do names[#names + 1] = k end
    table.sort(names)
    error(("data: unknown dataset '%s' (known: %s)"):format(tostring(dataset),
      table.concat(names, ", ")), 3)
  end
  local list = {}
  if dir then list[#list + 1] = dir end
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
  error(("data: %s not found. Looked in:\n  %s\nfor %s (plain or .gz).\nTo get them: %s"):format(
    dataset, table.concat(list, "\n  "), table.concat(info.files.train, ", ") .. ", " ..
    table.concat(info.files.test, ", "), info.how_to_get), 0)
end

--- load(dataset, split, opts) -> {images = (n, 1, h, w), labels = (n), n = n, classes = 10}
-- opts.dir: folder to try first; opts.limit: keep only the first n images.
function data.load(dataset, split, opts)
  opts = opts or {}
  local dir = data.find(dataset, opts.dir)
  local names = data.datasets[dataset].files[split]
  if not names then error("data.load: split must be 'train' or 'test', got " .. tostring(split), 2) end
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
  local n = images:size(1)
  if opts.limit and opts.limit < n then
    n = math.max(1, opts.limit)
    images, labels = images:narrow(1, n), labels:narrow(1, n)
  end
  local max_label = labels:max()
  return {images = images:reshape(n, 1, images:size(2), images:size(3)), labels = labels, n = n,
    classes = math.max(10, math.floor(max_label) + 1), dir = dir, name = dataset, split = split}
end

--- batches(set, batch_size, opts) -> iterator of (images, labels, count)
-- opts.gen: shuffle with this generator (else in order); opts.order: use
-- this order (0-based indices) instead; opts.start: skip that many images of
-- it (resuming mid-epoch); opts.shift: random shifts of up to this many
-- pixels (zero padding). The yielded tensors are reused between iterations:
-- copy them to keep them.
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
    return bufs.images, bufs.labels, count
  end
end

return data
