-- smallNORB: the binary matrix reader on files the spec writes (the real
-- data cannot be downloaded here), hostile files, the paper's preprocessing
-- (48x48, standardised, random 32x32 crops with brightness and contrast in
-- training, the central crop at test), and classify.lua --dataset smallnorb.
local capsrun = require "capsrun"
local T = capsrun.native
local data = capsrun.data

local BYTE, INT = 0x1E3D4C55, 0x1E3D4C54
local TRAIN = "smallnorb-5x46789x9x18x6x2x96x96-training-"
local TEST = "smallnorb-5x01235x9x18x6x2x96x96-testing-"

local function header(magic, dims)
  local parts = {string.pack("<I4i4", magic, #dims)}
  for i = 1, math.max(3, #dims) do parts[#parts + 1] = string.pack("<i4", dims[i] or 1) end
  return table.concat(parts)
end

local function write(path, bytes)
  local f = assert(io.open(path, "wb")); f:write(bytes); f:close()
end

-- n stereo pairs of side x side: image i of camera c is a ramp whose level
-- says (i, c); category i % 5
local function norb_pair(dir, prefix, n, side)
  local px = {}
  for i = 0, n - 1 do
    for c = 0, 1 do
      for y = 0, side - 1 do
        for x = 0, side - 1 do px[#px + 1] = string.char((i * 20 + c * 100 + x * 2 + y) % 256) end
      end
    end
  end
  write(dir .. "/" .. prefix .. "dat.mat", header(BYTE, {n, 2, side, side}) .. table.concat(px))
  local cats = {}
  for i = 0, n - 1 do cats[#cats + 1] = string.pack("<i4", i % 5) end
  write(dir .. "/" .. prefix .. "cat.mat", header(INT, {n}) .. table.concat(cats))
end

local function tmpdir()
  local dir = os.tmpname(); os.remove(dir); assert(T.mkdir(dir))
  return dir
end

describe("smallNORB reader", function()
  local dir
  setup(function()
    dir = tmpdir()
    norb_pair(dir, TRAIN, 12, 96)
    norb_pair(dir, TEST, 7, 96)
  end)
  teardown(function() os.execute("rm -rf " .. dir) end)

  it("reads a camera's images at the size asked for, and the categories", function()
    local img = T.read_norb_images(dir .. "/" .. TRAIN .. "dat.mat", 96, 1)
    assert.same({12, 1, 96, 96}, img:size())
    -- image 3 (0-based 2), camera 1, pixel (y=1, x=4): (2*20 + 0 + 8 + 1) / 255
    assert.near(49 / 255, img:get(3, 1, 2, 5), 1e-6)
    local right = T.read_norb_images(dir .. "/" .. TRAIN .. "dat.mat", 96, 2)
    assert.near(149 / 255, right:get(3, 1, 2, 5), 1e-6)
    local both = T.read_norb_images(dir .. "/" .. TRAIN .. "dat.mat", 48, 0)
    assert.same({12, 2, 48, 48}, both:size())
    -- bilinear halving averages 2x2 blocks: pixels (0,0), (0,1), (1,0), (1,1) of image 1
    assert.near((0 + 2 + 1 + 3) / 4 / 255, both:get(1, 1, 1, 1), 1e-6)
    local cats = T.read_norb_labels(dir .. "/" .. TRAIN .. "cat.mat")
    assert.same({12}, cats:size())
    assert.equal(4, cats:get(5)); assert.equal(0, cats:get(6))
  end)

  it("reads gzip files too", function()
    local gz = tmpdir()
    norb_pair(gz, TRAIN, 3, 8)
    assert(os.execute("gzip " .. gz .. "/" .. TRAIN .. "dat.mat"))
    local img = T.read_norb_images(gz .. "/" .. TRAIN .. "dat.mat.gz", 8, 1)
    assert.same({3, 1, 8, 8}, img:size())
    assert.near(22 / 255, img:get(2, 1, 1, 2), 1e-6)   -- i = 1, x = 1: 20 + 2
    os.execute("rm -rf " .. gz)
  end)

  it("refuses hostile files with a message naming the function, the file and the fault", function()
    local bad = tmpdir()
    local function expect(name, bytes, pattern, fn)
      write(bad .. "/" .. name, bytes)
      local ok, err = pcall(fn or T.read_norb_images, bad .. "/" .. name)
      assert.is_false(ok, name)
      assert.truthy(tostring(err):find(pattern), ("%s: %s"):format(name, tostring(err)))
      assert.truthy(tostring(err):find(name, 1, true), tostring(err))
    end
    expect("empty.mat", "", "too short for a NORB header")
    expect("magic.mat", string.pack("<I4i4", 0x12345678, 4), "not a NORB byte or int32 matrix")
    expect("ndim0.mat", string.pack("<I4i4", BYTE, 0), "0 dimensions")
    expect("ndim9.mat", string.pack("<I4i4", BYTE, 9), "9 dimensions")
    expect("ndimneg.mat", string.pack("<I4i4", BYTE, -1), "dimensions")
    expect("shorthdr.mat", string.pack("<I4i4i4", BYTE, 4, 2), "ends inside the NORB header")
    expect("zero.mat", header(BYTE, {0, 2, 4, 4}), "dimension 1 has size 0")
    expect("huge.mat", header(BYTE, {0x7fffffff, 2, 0x7fffffff, 0x7fffffff}), "at most")
    expect("lying.mat", header(BYTE, {100000, 2, 96, 96}) .. ("\1"):rep(100), "truncated")
    expect("trailing.mat", header(BYTE, {1, 2, 2, 2}) .. ("\1"):rep(9), "more data than its header")
    expect("3d.mat", header(BYTE, {2, 4, 4}) .. ("\1"):rep(32), "4%-D byte matrix")
    expect("ints.mat", header(INT, {1, 2, 2, 2}) .. ("\0"):rep(32), "4%-D byte matrix")
    expect("wide.mat", header(BYTE, {1, 1, 5000, 1}) .. ("\0"):rep(5000), "larger than 4096")
    expect("onecam.mat", header(BYTE, {1, 1, 2, 2}) .. ("\0"):rep(4), "no such camera",
      function(p) return T.read_norb_images(p, 48, 2) end)
    expect("cat7.mat", header(INT, {2}) .. string.pack("<i4i4", 1, 7), "label 7 of item 2",
      T.read_norb_labels)
    expect("catneg.mat", header(INT, {1}) .. string.pack("<i4", -3), "label %-3", T.read_norb_labels)
    expect("catbytes.mat", header(BYTE, {2}) .. "\1\2", "1%-D int32 matrix", T.read_norb_labels)
    expect("catshort.mat", header(INT, {3}) .. string.pack("<i4", 1), "truncated", T.read_norb_labels)
    local ok, err = pcall(T.read_norb_images, bad .. "/missing.mat")
    assert.is_false(ok); assert.truthy(tostring(err):find("cannot open"), err)
    assert.has_error(function() T.read_norb_images(dir .. "/" .. TRAIN .. "dat.mat", 0) end)
    assert.has_error(function() T.read_norb_images(dir .. "/" .. TRAIN .. "dat.mat", 48, 3) end)
    os.execute("rm -rf " .. bad)
  end)

  it("loads as a dataset: 48x48 standardised images, 5 named classes, 32x32 crops", function()
    local set = data.load("smallnorb", "train", {dir = dir})
    assert.same({12, 1, 48, 48}, set.images:size())
    assert.equal(5, set.classes)
    assert.equal("airplane", set.class_names[3])
    assert.same({1, 32, 32}, data.input_shape(set))
    for i = 1, 12 do
      local img = set.images:narrow(i, 1)
      assert.near(0, img:mean(), 1e-5)
      assert.near(1, img:norm() / math.sqrt(img:numel()), 1e-4)
    end
    -- evaluation: the central crop, the same every time
    local images = data.batches(set, 4)()
    assert.same({4, 1, 32, 32}, images:size())
    assert.near(set.images:get(1, 1, 9, 9), images:get(1, 1, 1, 1), 1e-6)
    assert.near(set.images:get(2, 1, 40, 40), images:get(2, 1, 32, 32), 1e-6)
    -- training: random windows and jitter, seeded
    local a = data.batches(set, 12, {gen = T.generator(3)})():clone()
    local b = data.batches(set, 12, {gen = T.generator(3)})():clone()
    local c = data.batches(set, 12, {gen = T.generator(4)})():clone()
    assert.equal(0, (a - b):norm())
    assert.is_true((a - c):norm() > 0)
    local test = data.load("smallnorb", "test", {dir = dir, limit = 5})
    assert.equal(5, test.n)
  end)

  it("crops every window inside the image and jitters within the documented ranges", function()
    local g = T.generator(1)
    local img = T.zeros(200, 1, 6, 6)
    for i = 1, 200 do for y = 1, 6 do for x = 1, 6 do img:set(i, 1, y, x, y * 10 + x) end end end
    local crops = T.crop(img, 4, g)
    local seen = {}
    for i = 1, 200 do
      local y0, x0 = crops:get(i, 1, 1, 1) // 10, crops:get(i, 1, 1, 1) % 10
      assert.is_true(y0 >= 1 and y0 <= 3 and x0 >= 1 and x0 <= 3)
      assert.equal((y0 + 3) * 10 + x0 + 3, crops:get(i, 1, 4, 4))
      seen[y0 * 10 + x0] = true
    end
    local count = 0
    for _ in pairs(seen) do count = count + 1 end
    assert.equal(9, count)                                  -- all 3x3 offsets occur
    local x = T.zeros(300, 1, 4, 4):uniform_(g, -1, 1)
    T.standardize_(x)
    local before = x:clone()
    T.jitter_(x, g, 0.25, 0.5, 1.5)
    for i = 1, 300 do
      local a, b = before:narrow(i, 1), x:narrow(i, 1)
      local shift = b:mean() - a:mean()
      assert.is_true(math.abs(shift) <= 0.25 + 1e-5)
      local scale = (b - b:mean()):norm() / (a - a:mean()):norm()
      assert.is_true(scale >= 0.5 - 1e-4 and scale <= 1.5 + 1e-4)
    end
    assert.has_error(function() T.crop(img, 7) end)
    assert.has_error(function() T.jitter_(x, g, -1, 0.5, 1.5) end)
  end)

  it("trains the EM model and Efficient-CapsNet with classify.lua --dataset smallnorb", function()
    for _, m in ipairs{{"em", "--em-sizes 4,2,3,3 --em-iters 2", "MatrixCapsNet"}, {"efficient", "", "Efficient-CapsNet"}} do
      local out = tmpdir()
      local cmd = ("%s experiments/classify.lua --model %s %s --dataset smallnorb "
        .. "--data %s --epochs 1 --batch 4 --save %s/m.tensors 2>&1"):format(os.getenv("CAPSRUN_BIN") or "build/capsrun",
        m[1], m[2], dir, out)
      local p = io.popen(cmd); local text = p:read("a"); local ok = p:close()
      assert.is_true(ok, text)
      assert.truthy(text:find("smallnorb, 12 train / 7 test images of 1x32x32", 1, true), text)
      assert.truthy(text:find(m[3], 1, true), text)
      assert.truthy(text:find("epoch 1 ", 1, true), text)
      local model = capsrun.train.load_model(out .. "/m.tensors")
      assert.equal(m[1], model.kind)
      assert.same({1, 32, 32}, model.config.input)
      os.execute("rm -rf " .. out)
    end
  end)
end)
