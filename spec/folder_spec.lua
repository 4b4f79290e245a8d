-- Users' own data: image folders of PNGs, CIFAR-10 binary files, bilinear
-- resizing, and every kind of bad input named clearly (never a crash or a
-- huge allocation). All data is generated here.
local capsrun = require "capsrun"
local T = capsrun.native
local H = require "spec.helpers"

-- a folder DIR/<split>/<class>/<i>.png of solid images; rgb: colour images;
-- sizes: {h, w} per image index (default 6x5)
local function make_folder(dir, opts)
  opts = opts or {}
  for _, split in ipairs{"train", "test"} do
    for c, name in ipairs(opts.classes or {"cat", "dog", "emu"}) do
      local d = ("%s/%s/%s"):format(dir, split, name)
      assert(os.execute("mkdir -p '" .. d .. "'"))
      for i = 1, opts.per_class or 2 do
        local size = opts.sizes and opts.sizes[i] or {6, 5}
        local v = (c * 10 + i) / 100
        if opts.rgb and i == 1 then
          local function plane(x) return T.zeros(1, size[1], size[2]):fill_(x) end
          local img = T.cat{plane(v), plane(0.5), plane(1 - v)}
          T.write_png_grid(d .. "/" .. i .. ".png", img, {spacing = 0, rgb = true})
        else
          T.write_png_grid(d .. "/" .. i .. ".png", T.zeros(size[1], size[2]):fill_(v), {spacing = 0})
        end
      end
    end
  end
end

describe("image folders", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rm_rf(dir) end)

  it("read grey PNGs as one channel, sorted classes shared by both splits, classes interleaved", function()
    make_folder(dir, {classes = {"zebra", "ant", "cat"}})
    local set = capsrun.data.load("mnist", "train", {dir = dir})
    assert.equal("folder", set.name)
    assert.same({"ant", "cat", "zebra"}, set.class_names)
    assert.same({6, 1, 6, 5}, set.images:size())
    assert.same({0, 1, 2, 0, 1, 2}, set.labels:totable())
    -- image 1 of ant (class index 2 when made: v = 0.21), quantised to 8 bits
    assert.near(math.floor(0.21 * 255 + 0.5) / 255, set.images:get(1, 1, 1, 1), 1e-7)
    local test = capsrun.data.load("folder", "test", {dir = dir, limit = 4})
    assert.equal(4, test.n)
    assert.same({0, 1, 2, 0}, test.labels:totable())
  end)

  it("read a split with any colour image as RGB planes", function()
    make_folder(dir, {rgb = true})
    local set = capsrun.data.load("folder", "train", {dir = dir})
    assert.same({6, 3, 6, 5}, set.images:size())
    -- first image of "cat" is the colour one: R = 0.11, G = 0.5, B = 0.89
    assert.near(math.floor(0.11 * 255 + 0.5) / 255, set.images:get(1, 1, 3, 3), 1e-7)
    assert.near(128 / 255, set.images:get(1, 2, 3, 3), 1e-7)
    assert.near(math.floor(0.89 * 255 + 0.5) / 255, set.images:get(1, 3, 3, 3), 1e-7)
    -- a grey image in a colour set: the same value in all three planes
    local g = set.images:get(4, 1, 1, 1)
    assert.equal(g, set.images:get(4, 2, 1, 1)); assert.equal(g, set.images:get(4, 3, 1, 1))
  end)

  it("refuse mixed sizes unless asked to resize, then resize bilinearly", function()
    make_folder(dir, {sizes = {{6, 5}, {9, 7}}})
    assert.error_matches(function() capsrun.data.load("folder", "train", {dir = dir}) end,
      "images of different sizes: .*/train/cat/1.png is 5x6, .*/train/cat/2.png is 7x9 %(give %-%-resize HxW")
    local set = capsrun.data.load("folder", "train", {dir = dir, resize = {4, 4}})
    assert.same({6, 1, 4, 4}, set.images:size())
    assert.near(math.floor(0.21 * 255 + 0.5) / 255, set.images:get(2, 1, 2, 3), 1e-6)   -- dog 1: solid stays solid
  end)

  it("refuse a malformed --resize with exit 2 and the expected form", function()
    make_folder(dir)
    for _, bad in ipairs{"abc", "0x5", "28", "5x99999"} do
      local code, out = H.run(("experiments/classify.lua --data %s --resize %s --epochs 0"):format(dir, bad))
      assert.equal(2, code, out)
      assert.truthy(out:find("--resize: HxW with sides in [1, 4096] expected, got '" .. bad .. "'", 1, true), out)
    end
  end)

  it("resize against hand-computed bilinear values (pixel centres at +0.5)", function()
    local up = T.resize_bilinear(T.new{{0, 1}, {2, 3}}, 4, 4)
    local want = {{0, 0.25, 0.75, 1}, {0.5, 0.75, 1.25, 1.5}, {1.5, 1.75, 2.25, 2.5}, {2, 2.25, 2.75, 3}}
    for y = 1, 4 do for x = 1, 4 do assert.near(want[y][x], up:get(y, x), 1e-6) end end
    local down = T.resize_bilinear(T.new{{1, 2, 3, 4}}, 1, 2)   -- samples at x = 0.5 and 2.5
    assert.near(1.5, down:get(1, 1), 1e-6); assert.near(3.5, down:get(1, 2), 1e-6)
    assert.same({2, 3, 5, 7}, T.resize_bilinear(T.zeros(2, 3, 4, 4), 5, 7):size())
  end)

  it("name the file for each kind of bad input, allocating nothing huge", function()
    local function err_of(prepare)
      local d = H.tmpdir()
      make_folder(d)
      prepare(d)
      local ok, e = pcall(capsrun.data.load, "folder", "train", {dir = d})
      H.rm_rf(d)
      assert.is_false(ok)
      return e
    end
    assert.truthy(err_of(function(d) H.write(d .. "/train/dog/3.png", "not really a png") end)
      :find("train/dog/3.png is not a PNG file", 1, true))
    assert.truthy(err_of(function(d)
      local png = H.read(d .. "/train/dog/1.png")
      H.write(d .. "/train/dog/1.png", png:sub(1, #png // 2))
    end):find("train/dog/1.png: corrupt PNG", 1, true))
    -- a valid header declaring 100000 x 100000 pixels and nothing after it
    local ihdr = "IHDR" .. string.pack(">I4I4BBBBB", 100000, 100000, 8, 0, 0, 0, 0)
    local header = "\137PNG\r\n\26\n" .. string.pack(">I4", 13) .. ihdr .. string.pack(">I4", T.crc32(ihdr))
    local e = err_of(function(d) H.write(d .. "/train/emu/1.png", header) end)
    assert.truthy(e:find("train/emu/1.png", 1, true), e)
    assert.truthy(err_of(function(d) os.execute("rm '" .. d .. "'/train/emu/*.png") end)
      :find("class folder .*/train/emu holds no images %(%.png, %.jpg, %.jpeg%)"))
    local jpeg = err_of(function(d) H.write(d .. "/train/dog/4.jpg", "\255\216\255 not really a jpeg") end)
    assert.truthy(jpeg:find("train/dog/4.jpg is not a readable JPEG", 1, true), jpeg)
    assert.truthy(err_of(function(d) os.execute("mkdir '" .. d .. "/train/fox'") end)
      :find("class 'fox' is in .*/train but not in .*/test"))
    assert.truthy(err_of(function(d) os.execute("mkdir -p '" .. d .. "/test/gnu'") end)
      :find("class 'gnu' is in .*/test but not in .*/train"))
  end)

  it("read JPEGs beside PNGs, skip files that are not images with one warning, refuse corrupt JPEGs", function()
    make_folder(dir)
    local colour = T.zeros(3, 6, 5)   -- smooth: JPEG keeps it (noise it would not, chroma is subsampled)
    for y = 1, 6 do for x = 1, 5 do colour:set(1, y, x, x / 5); colour:set(2, y, x, y / 6); colour:set(3, y, x, 0.5) end end
    T.write_jpeg(dir .. "/train/cat/9.jpg", colour, 100)
    T.write_jpeg(dir .. "/train/dog/9.JPEG", T.zeros(6, 5):fill_(0.25), 100)
    H.write(dir .. "/train/cat/notes.txt", "hello")
    H.write(dir .. "/train/emu/Thumbs.db", "x")
    -- in a separate process, to see the warning on stderr
    local code, out = H.run(("-e \"local s = capsrun.data.load('folder', 'train', {dir = '%s'}) "
      .. "print(s.n, table.concat(s.images:size(), 'x'))\""):format(dir))
    assert.equal(0, code, out)
    assert.truthy(out:find("warning: " .. dir .. "/train: skipped 2 files that are not an image", 1, true), out)
    assert.truthy(out:find("8\t8x3x6x5", 1, true), out)   -- 6 PNGs and 2 JPEGs, in colour (one JPEG is)
    os.remove(dir .. "/train/cat/notes.txt"); os.remove(dir .. "/train/emu/Thumbs.db")
    local set = capsrun.data.load("folder", "train", {dir = dir})
    -- the grey JPEG at quality 100: 0.25 back within JPEG's rounding, the same in all three planes
    local k
    for i = 1, set.n do if set.labels:get(i) == 1 and math.abs(set.images:get(i, 1, 1, 1) - 0.25) < 0.02 then k = i end end
    assert.truthy(k, "the grey JPEG")
    assert.equal(set.images:get(k, 1, 3, 3), set.images:get(k, 3, 3, 3))
    -- the colour JPEG matches what was written, within JPEG's loss
    local back = T.read_image(dir .. "/train/cat/9.jpg", 3)
    assert.same({3, 6, 5}, back:size())
    assert.is_true((back - colour):norm() / colour:norm() < 0.1, (back - colour):norm() / colour:norm())
    -- a truncated JPEG is an error naming the file, never grey pixels
    local bytes = H.read(dir .. "/train/cat/9.jpg")
    H.write(dir .. "/cut.jpg", bytes:sub(1, #bytes // 2))
    local ok, e = pcall(T.read_image, dir .. "/cut.jpg")
    assert.is_false(ok)
    assert.truthy(e:find("read_image: .*cut.jpg is not a readable JPEG"), e)
    assert.error_matches(function() T.write_jpeg(dir .. "/x.jpg", T.zeros(2, 2, 2)) end, "expected")
  end)

  it("a 100000 x 100000 header is refused before any allocation", function()
    local ihdr = "IHDR" .. string.pack(">I4I4BBBBB", 100000, 100000, 8, 0, 0, 0, 0)
    H.write(dir .. "/big.png", "\137PNG\r\n\26\n" .. string.pack(">I4", 13) .. ihdr .. string.pack(">I4", T.crc32(ihdr)))
    local ok, e = pcall(T.png_info, dir .. "/big.png")
    assert.is_false(ok)   -- the header alone, with no image data after it
    assert.truthy(e:find("big.png", 1, true), e)
    ok, e = pcall(T.read_png, dir .. "/big.png")
    assert.is_false(ok)
    assert.truthy(e:find("more than the", 1, true) or e:find("corrupt", 1, true), e)
  end)

  it("give the same tensors as IDX for the same pixels (tools/export.lua)", function()
    local code, out = H.run(("tools/export.lua --data %s --limit 240 %s/out"):format(H.mnist(), dir))
    assert.equal(0, code, out)
    local idx = capsrun.data.load("mnist", "train", {dir = H.mnist(), limit = 240})
    local folder = capsrun.data.load("folder", "train", {dir = dir .. "/out"})
    assert.equal(idx.n, folder.n)
    -- the folder interleaves classes; rebuild that order from the IDX set
    local per = {}
    for i = 1, idx.n do
      local c = math.tointeger(idx.labels:get(i))
      per[c] = per[c] or {}
      per[c][#per[c] + 1] = i
    end
    local k = 0
    for round = 1, idx.n do
      for c = 0, 9 do
        local i = per[c] and per[c][round]
        if i then
          k = k + 1
          assert.equal(c, folder.labels:get(k))
          assert.equal(0, (T.narrow(idx.images, i, 1) - T.narrow(folder.images, k, 1)):norm(), "image " .. i)
        end
      end
    end
    assert.equal(idx.n, k)
  end)
end)

describe("CIFAR-10 files", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rm_rf(dir) end)

  -- n records: label (3i + 7) % 10, pixel bytes (i + p + 100) % 256, so that
  -- no label equals its record's first pixel (a reader taking the label from
  -- the wrong byte fails)
  local function records(n, first_label)
    local out = {}
    for i = 0, n - 1 do
      local px = {}
      for p = 0, 3071 do px[p + 1] = (i + p + 100) % 256 end
      out[#out + 1] = string.char((first_label or 0) + (3 * i + 7) % 10) .. string.char(table.unpack(px))
    end
    return table.concat(out)
  end

  local function write_set(n)
    for b = 1, 5 do H.write(("%s/data_batch_%d.bin"):format(dir, b), records(n)) end
    H.write(dir .. "/test_batch.bin", records(n))
    H.write(dir .. "/batches.meta.txt", "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n")
  end

  it("read records as RGB planes with labels and class names", function()
    write_set(12)
    local set = capsrun.data.load("cifar10", "train", {dir = dir})
    assert.same({60, 3, 32, 32}, set.images:size())
    assert.equal(10, set.classes)
    assert.equal("truck", set.class_names[10])
    for i = 0, 11 do assert.equal((3 * i + 7) % 10, set.labels:get(i + 1)) end
    -- record 2 (i = 1): R plane starts with byte 101, G plane with byte 101 + 1024
    assert.near(101 / 255, set.images:get(2, 1, 1, 1), 1e-7)
    assert.near(((101 + 1024) % 256) / 255, set.images:get(2, 2, 1, 1), 1e-7)
    assert.near(((101 + 2048 + 33) % 256) / 255, set.images:get(2, 3, 2, 2), 1e-7)
    local test = capsrun.data.load("cifar10", "test", {dir = dir, limit = 5})
    assert.equal(5, test.n)
  end)

  it("refuse a length that is not a multiple of 3,073 and labels out of range", function()
    H.write(dir .. "/bad.bin", records(2) .. "xyz")
    assert.error_matches(function() T.read_cifar(dir .. "/bad.bin") end, "6149 bytes is not a whole number of 3,073%-byte")
    H.write(dir .. "/label.bin", records(1) .. records(1, 243))   -- label 243 + 7 = 250
    assert.error_matches(function() T.read_cifar(dir .. "/label.bin") end, "record 2 has label 250, not a class in %[0, 9%]")
    assert.error_matches(function() T.read_cifar(dir .. "/none.bin") end, "cannot open")
    H.write(dir .. "/empty.bin", "")
    assert.error_matches(function() T.read_cifar(dir .. "/empty.bin") end, "0 bytes is not a whole number")
  end)

  it("flip mirrors about half of the images, seeded", function()
    local x = T.zeros(200, 1, 1, 3)
    for i = 1, 200 do x:set(i, 1, 1, 1, 1); x:set(i, 1, 1, 3, 3) end
    T.random_flip_(x, T.generator(4))
    local flipped = 0
    for i = 1, 200 do
      if x:get(i, 1, 1, 1) == 3 then flipped = flipped + 1; assert.equal(1, x:get(i, 1, 1, 3)) end
    end
    assert.is_true(flipped > 70 and flipped < 130, flipped .. " flipped")
  end)

  it("train CapsNet end to end on 32x32 RGB data, shaped from the data", function()
    write_set(8)
    local code, out = H.run(("experiments/classify.lua --dataset cifar10 --data %s --limit 24 --epochs 1 " ..
      "--batch 8 --routing-iters 1 --flip --conv-channels 16 --primary-types 4 --precision f32 " ..
      "--save %s/run/m.tensors"):format(dir, dir))
    assert.equal(0, code, out)
    assert.truthy(out:find("24 train / 4 test images of 3x32x32", 1, true), out)
    assert.truthy(out:find("epoch 1", 1, true), out)
    -- Efficient-CapsNet too, with its decoder redrawing colour images
    code, out = H.run(("experiments/reconstruct.lua --model efficient --dataset cifar10 --data %s --limit 24 " ..
      "--epochs 1 --batch 8 --columns 4 --save %s/eff/m.tensors"):format(dir, dir))
    assert.equal(0, code, out)
    assert.truthy(out:find("Efficient-CapsNet + decoder", 1, true), out)
    assert.equal(3, capsrun.read_png(dir .. "/eff/reconstructions.png", 3):size(1))
    assert.same({3, 32, 32}, capsrun.train.load_model(dir .. "/eff/m.tensors").config.input)
  end)
end)

describe("every experiment on colour data", function()
  it("reconstructs, perturbs and predicts 32x32 RGB images, drawing colour figures", function()
    local dir = H.tmpdir()
    local state = 3
    local function records(n)
      local out = {}
      for i = 0, n - 1 do
        local px = {}
        for p = 1, 3072 do state = (state * 1103515245 + 12345) % 2147483648; px[p] = (state >> 16) % 256 end
        out[#out + 1] = string.char(i % 10) .. string.char(table.unpack(px))
      end
      return table.concat(out)
    end
    for b = 1, 5 do H.write(("%s/data_batch_%d.bin"):format(dir, b), records(6)) end
    H.write(dir .. "/test_batch.bin", records(12))
    local arch = "--conv-channels 8 --primary-types 2 --routing-iters 1 --precision f32"
    local code, out = H.run(("experiments/reconstruct.lua --dataset cifar10 --data %s --epochs 1 --batch 10 %s " ..
      "--columns 4 --save %s/ae/w.tensors"):format(dir, arch, dir))
    assert.equal(0, code, out)
    assert.equal(3, capsrun.read_png(dir .. "/ae/reconstructions.png", 3):size(1))
    code, out = H.run(("experiments/perturb.lua --dataset cifar10 --data %s --load %s/ae/w.tensors --images 1 " ..
      "--from -0.1 --to 0.1 --step 0.1 --out %s/pt --scale 1"):format(dir, dir, dir))
    assert.equal(0, code, out)
    local name = out:match("(perturb%-%d+%-1%.png)")
    assert.truthy(name, out)
    local fig = capsrun.read_png(dir .. "/pt/" .. name, 3)
    assert.equal(3, fig:size(1))                                  -- colour, 16 dimensions x (original + 3 deltas)
    assert.is_true(fig:size(2) > 16 * 32 + 40 and fig:size(3) > 4 * 32 + 64, table.concat(fig:size(), "x"))
    assert.equal(16, H.labelled_rows(capsrun.read_png(dir .. "/pt/" .. name), 16, 32 + 4))
    capsrun.write_png_grid(dir .. "/photo.png", T.zeros(3, 50, 40):uniform_(T.generator(1)), {spacing = 0, rgb = true})
    code, out = H.run(("experiments/predict.lua --load %s/ae/w.tensors --top 2 --out %s/p.png %s/photo.png")
      :format(dir, dir, dir))
    assert.equal(0, code, out)
    assert.truthy(out:find("photo.png: resized from 40x50 to 32x32", 1, true), out)
    assert.truthy(out:find("photo.png: %S+ [01]%.%d%d, %S+ [01]%.%d%d %(capsule lengths%)"), out)
    H.rm_rf(dir)
  end)
end)

describe("memory estimate", function()
  it("stops a model too big for the machine, naming the largest tensor and what to change", function()
    local ok, e = pcall(require("capsrun.memory").check, {input = {3, 227, 227}, classes = 196}, 128, nil, 8 * 2 ^ 30)
    assert.is_false(ok)
    assert.truthy(e:find("The largest tensor is [%w ]*predictions[%w_ ]*, %(128, 359552, 196, 16%) float32 = 537%.7 GiB"), e)
    assert.truthy(e:find("--batch", 1, true) and e:find("--primary-stride", 1, true), e)
    local fits = require("capsrun.memory").check({}, 32, nil, 8 * 2 ^ 30)
    assert.is_true(fits > 100 * 2 ^ 20 and fits < 2 ^ 30, fits)
  end)
end)
