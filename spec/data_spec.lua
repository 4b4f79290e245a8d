local capsrun = require "capsrun"
local T = capsrun.native
local H = require "spec.helpers"

describe("IDX reader", function()
  local dir
  setup(function() dir = H.tmpdir() end)
  teardown(function() H.rm_rf(dir) end)

  local function write_idx(name, dims, body, magic)
    local path = dir .. "/" .. name
    H.write(path, H.idx(dims, body, magic))
    return path
  end

  it("reads plain and gzip files with their shape and values", function()
    local path = write_idx("ok", {2, 2, 3}, string.char(0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255))
    local t = T.read_idx(path)
    assert.same({2, 2, 3}, t:size())
    assert.equal(255, t:get(2, 2, 3))
    assert.equal(5, t:get(1, 2, 3))
    os.execute("gzip -k '" .. path .. "'")
    local z = T.read_idx(path .. ".gz", 1 / 255)
    assert.equal(1, z:get(2, 2, 3))
  end)

  it("rejects a wrong magic number", function()
    local p = write_idx("magic", {1}, "x", string.pack("BBBB", 1, 2, 8, 1))
    assert.error_matches(function() T.read_idx(p) end, "not an IDX file")
    local q = write_idx("type", {1}, "xxxx", string.pack("BBBB", 0, 0, 0x0D, 1))
    assert.error_matches(function() T.read_idx(q) end, "element type 0x0d not supported")
  end)

  it("rejects counts that disagree with the file size", function()
    local p = write_idx("short", {10, 4}, string.rep("a", 39))
    assert.error_matches(function() T.read_idx(p) end, "truncated: the header declares 40 items, the file holds 39")
    local q = write_idx("long", {10}, string.rep("a", 11))
    assert.error_matches(function() T.read_idx(q) end, "more data than its header declares")
    local r = write_idx("header", {10, 4}, "")
    H.write(r, H.read(r):sub(1, 6))
    assert.error_matches(function() T.read_idx(r) end, "ends inside the IDX header")
  end)

  it("rejects zero and huge dimensions without a huge allocation", function()
    local p = write_idx("zero", {0, 28}, "")
    assert.error_matches(function() T.read_idx(p) end, "dimension 1 has size 0")
    -- 2^31 x 2^31 items would need 4 EiB: refused from the header alone
    local q = write_idx("huge", {2 ^ 31, 2 ^ 31}, "abc")
    assert.error_matches(function() T.read_idx(q) end, "dimension 2 has size")
    -- 2^31 items declared, 3 present: memory grows only with the data read
    local r = write_idx("lying", {2 ^ 31}, "abc")
    assert.error_matches(function() T.read_idx(r) end, "truncated")
    assert.error_matches(function() T.read_idx(write_idx("dims", {1, 1, 1, 1, 1}, "a")) end,
      "5 dimensions, at most 4")
  end)

  it("rejects corrupt gzip data and missing files", function()
    local p = dir .. "/bad.gz"
    H.write(p, "\31\139\8\0\0\0\0\0\0\3" .. string.rep("\255", 40))
    assert.has_error(function() T.read_idx(p) end)
    assert.error_matches(function() T.read_idx(dir .. "/nope") end, "cannot open")
  end)
end)

describe("data", function()
  local dir
  setup(function()
    dir = H.tmpdir()
    -- a 5-image, 4x4 dataset: image k is filled with k*10, label k % 3
    local img, lab = {}, {}
    for k = 0, 4 do img[#img + 1] = string.rep(string.char(k * 10), 16); lab[#lab + 1] = string.char(k % 3) end
    for _, split in ipairs({{"train", "train"}, {"test", "t10k"}}) do
      H.write(dir .. "/" .. split[2] .. "-images-idx3-ubyte", H.idx({5, 4, 4}, table.concat(img)))
      H.write(dir .. "/" .. split[2] .. "-labels-idx1-ubyte", H.idx({5}, table.concat(lab)))
    end
  end)
  teardown(function() H.rm_rf(dir) end)

  it("loads images scaled to [0, 1] as (n, 1, h, w) with their labels", function()
    local set = capsrun.data.load("mnist", "train", {dir = dir})
    assert.same({5, 1, 4, 4}, set.images:size())
    assert.near(40 / 255, set.images:get(5, 1, 4, 4), 1e-7)
    assert.same({0, 1, 2, 0, 1}, set.labels:totable())
    assert.equal(3, capsrun.data.load("mnist", "test", {dir = dir, limit = 3}).n)
  end)

  it("lists every place it looked at when the data is missing", function()
    local ok, err = pcall(capsrun.data.load, "mnist", "train", {dir = dir .. "/none"})
    assert.is_false(ok)
    assert.truthy(err:find(dir .. "/none", 1, true))
    assert.truthy(err:find("no other place is searched", 1, true))
    assert.truthy(err:find("To get them", 1, true))
    ok, err = pcall(capsrun.data.load, "mnist", "train", {})
    if not ok then assert.truthy(err:find("./data/mnist", 1, true), err) end
    local fashion = capsrun.data.candidates("fashion")
    assert.equal("/usr/share/datasets/fashion-mnist", fashion[#fashion])
    assert.error_matches(function() capsrun.data.find("cifar") end, "unknown dataset 'cifar'")
  end)

  it("searches $CAPSRUN_DATA-style folders in order, and only the folder given when there is one", function()
    local list = capsrun.data.candidates("mnist")
    assert.equal("./data/mnist", list[#list])
    assert.same({"/first"}, capsrun.data.candidates("mnist", "/first"))
  end)

  it("never replaces a --data the user typed by another copy (CAPSRUN_DATA set)", function()
    local parent = H.tmpdir()
    os.execute(("ln -s '%s' '%s/mnist'"):format(H.mnist(), parent))
    local code, out = H.run("experiments/classify.lua --data " .. dir .. "/nonexistent --limit 100 --epochs 1",
      nil, "CAPSRUN_DATA=" .. parent)
    H.rm_rf(parent)
    assert.equal(1, code, out)
    assert.truthy(out:find(dir .. "/nonexistent", 1, true), out)
    assert.is_nil(out:find("epoch 1", 1, true), out)
    assert.is_nil(out:find("traceback", 1, true), out)
  end)

  it("rejects label files that do not match the images", function()
    local bad = H.tmpdir()
    for _, p in ipairs({"train", "t10k"}) do
      H.write(bad .. "/" .. p .. "-images-idx3-ubyte", H.idx({2, 2, 2}, string.rep("a", 8)))
      H.write(bad .. "/" .. p .. "-labels-idx1-ubyte", H.idx({3}, "abc"))
    end
    assert.error_matches(function() capsrun.data.load("mnist", "train", {dir = bad}) end, "holds 3 labels for 2 images")
    H.rm_rf(bad)
  end)

  it("batches in order, or shuffled reproducibly from a seed", function()
    local set = capsrun.data.load("mnist", "train", {dir = dir})
    local seen = {}
    for _, _, n in capsrun.data.batches(set, 2) do seen[#seen + 1] = n end
    assert.same({2, 2, 1}, seen)
    local function order(seed)
      local out = {}
      for imgs in capsrun.data.batches(set, 5, {gen = T.generator(seed)}) do
        for i = 1, 5 do out[i] = imgs:get(i, 1, 1, 1) end
      end
      return table.concat(out, ",")
    end
    assert.equal(order(9), order(9))
    assert.are_not.equal(order(9), order(10))
    assert.error_matches(function() capsrun.data.batches(set, 0) end, "positive integer")
  end)

  it("shifts images by up to n pixels with zero padding", function()
    local img = T.zeros(200, 1, 5, 5)
    for b = 1, 200 do img:set(b, 1, 3, 3, 1) end
    T.random_shift_(img, 2, T.generator(1))
    local moved, offsets = 0, {}
    for b = 1, 200 do
      local _, at = img:reshape(200, 25):narrow(b, 1):max()
      assert.near(1, img:reshape(200, 25):narrow(b, 1):sum(), 1e-7)  -- nothing lost inside 2 px
      offsets[at] = true
      if at ~= 13 then moved = moved + 1 end
    end
    local n = 0
    for _ in pairs(offsets) do n = n + 1 end
    assert.equal(25, n)     -- all 5x5 offsets in [-2, 2]^2 occur
    assert.is_true(moved > 150)
    local edge = T.ones(50, 1, 3, 3)
    T.random_shift_(edge, 1, T.generator(2))
    assert.is_true(edge:sum() < 450)   -- zeros came in from the border
  end)

  it("moves every pixel of every channel by the image's own shift, beyond the image's size too", function()
    local B, C, Hh, W, max = 60, 2, 6, 7, 8
    local img = T.zeros(B, C, Hh, W):uniform_(T.generator(3)):add_(0.5)   -- no zeros of its own
    local before = img:clone()
    T.random_shift_(img, max, T.generator(4))
    local function shifted(b, dy, dx)   -- the reference: out[y][x] = in[y - dy][x - dx], zero outside
      for c = 1, C do for y = 1, Hh do for x = 1, W do
        local sy, sx = y - dy, x - dx
        local want = (sy >= 1 and sy <= Hh and sx >= 1 and sx <= W) and before:get(b, c, sy, sx) or 0
        if img:get(b, c, y, x) ~= want then return false end
      end end end
      return true
    end
    local blank = 0
    for b = 1, B do
      local found = false
      for dy = -max, max do for dx = -max, max do found = found or shifted(b, dy, dx) end end
      assert.is_true(found, "image " .. b .. " is no shift of itself")
      if img:narrow(b, 1):sum() == 0 then blank = blank + 1 end
    end
    assert.is_true(blank > 0 and blank < B)   -- shifts of 6 or more rows (7 columns) leave nothing
    local flip = T.zeros(B, C, Hh, W):uniform_(T.generator(5))
    local orig = flip:clone()
    T.random_flip_(flip, T.generator(6))
    local flipped = 0
    for b = 1, B do
      local mirrored = flip:get(b, 2, 3, 1) == orig:get(b, 2, 3, W)
      if mirrored then flipped = flipped + 1 end
      for c = 1, C do for y = 1, Hh do for x = 1, W do
        assert.equal(orig:get(b, c, y, mirrored and W + 1 - x or x), flip:get(b, c, y, x))
      end end end
    end
    assert.is_true(flipped > 10 and flipped < 50)
  end)

  -- an extra: defined only where ../shared's MNIST is (it is in CI)
  local real = H.has_real_mnist() and it or function() end
  real("reads the real MNIST test set", function()
    local set = capsrun.data.load("mnist", "test", {dir = H.shared_mnist})
    assert.equal(10000, set.n)
    assert.same({10000, 1, 28, 28}, set.images:size())
    assert.equal(7, set.labels:get(1))   -- the first test digit is a 7
    assert.equal(10, set.classes)
  end)
end)
