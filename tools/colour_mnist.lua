-- colour_mnist.lua: MNIST in colour, written as CIFAR-10 binary batches, to
-- try colour models (and the SCAE's --target sobel) without a download:
-- each digit padded to 32x32, drawn in a random colour on a background of
-- another random colour (at least 0.35 apart in brightness), so that a
-- model must find the strokes whatever their colours, as on SVHN.
--
--   capsrun tools/colour_mnist.lua OUT [--data ../shared/data/mnist] [--train N] [--test N] [--seed S]
--   capsrun experiments/scae.lua --dataset cifar10 --data OUT --target sobel
local capsrun = require "capsrun"
local native = capsrun.native

local usage = "usage: capsrun tools/colour_mnist.lua OUT [--data DIR] [--train N] [--test N] [--seed S]"
local opts = capsrun.cli.parse(arg, {
  {"data", "string", nil, "MNIST's folder (default: as the experiments find it)"},
  {"train", "int", 60000, "training images (split over the five batches)", min = 5},
  {"test", "int", 10000, "test images", min = 1},
  {"seed", "int", 1, "seed of the colours"},
  positional = {name = "OUT", help = "the folder to write data_batch_1..5.bin and test_batch.bin into", min = 1},
}, usage)
if #opts.positional ~= 1 then capsrun.exit(2, usage) end
local out = opts.positional[1]
local made, err = pcall(require("capsrun.experiment").mkdir_p, out)
if not made then capsrun.exit(1, ("colour_mnist: cannot create %s: %s"):format(out, err)) end

local data = require "capsrun.data"
local train_set, test_set = data.load("mnist", "train", {dir = opts.data}), data.load("mnist", "test", {dir = opts.data})
local gen = native.generator(opts.seed)

local function luma(c) return 0.299 * c[1] + 0.587 * c[2] + 0.114 * c[3] end
local function colour_pair()
  while true do
    local f, b = {gen:uniform(), gen:uniform(), gen:uniform()}, {gen:uniform(), gen:uniform(), gen:uniform()}
    if math.abs(luma(f) - luma(b)) >= 0.35 then return f, b end
  end
end

-- images first .. first + n - 1 of set into one CIFAR batch file: a label byte, then 32x32 red, green, blue
local function write_batch(path, set, first, n)
  local f = assert(io.open(path, "wb"))
  for i = first, first + n - 1 do
    local fg, bg = colour_pair()
    local rec = {string.char(math.tointeger(set.labels:get(i)))}
    for c = 1, 3 do
      local plane = {}
      for y = 1, 32 do for x = 1, 32 do
        local inside = y > 2 and y <= 30 and x > 2 and x <= 30
        local v = inside and set.images:get(i, 1, y - 2, x - 2) or 0
        plane[#plane + 1] = string.char(math.floor((bg[c] * (1 - v) + fg[c] * v) * 255 + 0.5))
      end end
      rec[#rec + 1] = table.concat(plane)
    end
    f:write(table.concat(rec))
  end
  f:close()
end

local n_train, n_test = math.min(opts.train, train_set.n), math.min(opts.test, test_set.n)
local per = n_train // 5
for b = 1, 5 do
  write_batch(("%s/data_batch_%d.bin"):format(out, b), train_set, (b - 1) * per + 1, b < 5 and per or n_train - 4 * per)
end
write_batch(out .. "/test_batch.bin", test_set, 1, n_test)
print(("colour MNIST: %d training and %d test images in %s (CIFAR-10 batches)"):format(n_train, n_test, out))
