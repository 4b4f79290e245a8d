-- MATLAB level-5 MAT-files (native.read_mat) and SVHN's cropped digits
-- (native.read_svhn, --dataset svhn) on files written here: plain and
-- zlib-compressed elements, small elements, values stored in a narrower
-- type than their class, hostile files; and classify.lua on them.
local capsrun = require "capsrun"
local H = require "spec.helpers"
local T = capsrun.native

local MI = {int8 = 1, uint8 = 2, int16 = 3, int32 = 5, uint32 = 6, double = 9, matrix = 14, compressed = 15}
local FMT = {[1] = "i1", [2] = "I1", [3] = "<i2", [5] = "<i4", [9] = "<d"}
local CLASS = {double = 6, uint8 = 9, char = 4}

local function pad(s) return s .. ("\0"):rep((8 - #s % 8) % 8) end
local function tag(t, body) return string.pack("<I4I4", t, #body) .. pad(body) end

-- a miMATRIX element: name, dims (MATLAB's order), values (column-major), storage type, class
local function matrix(name, dims, values, storage, class, flags)
  local d = {}
  for i, v in ipairs(dims) do d[i] = string.pack("<i4", v) end
  local name_el = #name <= 4 and string.pack("<I4", (#name << 16) | MI.int8) .. name .. ("\0"):rep(4 - #name)
    or tag(MI.int8, name)
  local v = {}
  for i, x in ipairs(values) do v[i] = string.pack(FMT[storage], x) end
  local body = tag(MI.uint32, string.pack("<I4I4", (class or CLASS.double) | (flags or 0), 0))
    .. tag(MI.int32, table.concat(d)) .. name_el .. tag(storage, table.concat(v))
  return string.pack("<I4I4", MI.matrix, #body) .. body
end

-- zlib (RFC 1950) of s, through gzip's raw deflate stream and an Adler-32 of our own
local function zlib(s)
  local dir = H.tmpdir()
  local f = assert(io.open(dir .. "/raw", "wb")); f:write(s); f:close()
  local p = assert(io.popen("gzip -n -c " .. dir .. "/raw"))
  local gz = p:read("a"); p:close()
  H.rm_rf(dir)
  local a, b = 1, 0
  for i = 1, #s do a = (a + s:byte(i)) % 65521; b = (b + a) % 65521 end
  return "\x78\x9c" .. gz:sub(11, -9) .. string.pack(">I4", (b << 16) | a)
end
local function compressed(element) local z = zlib(element); return string.pack("<I4I4", MI.compressed, #z) .. z end

local function header(text)
  local t = (text or "MATLAB 5.0 MAT-file, written by capsrun's spec"):sub(1, 116)
  return t .. (" "):rep(116 - #t) .. ("\0"):rep(8) .. "\0\1IM"
end

local function write(path, ...)
  local f = assert(io.open(path, "wb"))
  f:write(...)
  f:close()
  return path
end

-- n images of 32x32 in c channels: value (i, ch, row, col) and its labels 1..10
local function svhn_parts(n, c)
  local x = {}
  for i = 0, n - 1 do for ch = 0, c - 1 do for col = 0, 31 do for row = 0, 31 do
    x[#x + 1] = (i * 37 + ch * 11 + row * 3 + col * 5) % 256
  end end end end
  local y = {}
  for i = 1, n do y[i] = (i * 7) % 10 + 1 end
  return x, y
end

local function svhn_file(path, n, opts)
  opts = opts or {}
  local c = opts.channels or 3
  local x, y = svhn_parts(n, c)
  local X = matrix("X", {32, 32, c, n}, x, MI.uint8, CLASS.uint8)
  local Y = matrix("y", {n, 1}, y, opts.y_storage or MI.double, CLASS.double)
  if opts.compress then X, Y = compressed(X), compressed(Y) end
  return write(path, header(), X, Y)
end

describe("read_mat", function()
  local dir
  setup(function() dir = H.tmpdir() end)
  teardown(function() H.rm_rf(dir) end)

  it("reads a numeric variable by name, dimensions reversed, in any storage type, plain or compressed", function()
    local a = matrix("weights", {2, 3}, {1, 2, 3, 4, 5, 6}, MI.double)        -- a (2, 3) double matrix
    local b = matrix("b", {1, 4}, {-300, 7, 0, 32767}, MI.int16)             -- stored narrower than double
    local path = write(dir .. "/m.mat", header(), a, compressed(b))
    local w = T.read_mat(path, "weights")
    assert.same({3, 2}, w:size())
    assert.same({{1, 2}, {3, 4}, {5, 6}}, w:totable())   -- column-major: the same values in order
    assert.same({{-300}, {7}, {0}, {32767}}, T.read_mat(path, "b"):totable())
    local ok, err = pcall(T.read_mat, path, "c")
    assert.is_false(ok)
    assert.truthy(tostring(err):find("read_mat: " .. path .. ": no variable named c", 1, true), err)
  end)

  it("refuses what is not a MAT-file it can read, naming the file and the problem", function()
    local good = matrix("X", {2, 2}, {1, 2, 3, 4}, MI.double)
    local cases = {
      {"missing", nil, "cannot open"},
      {"text", "hello, world", "too short for a MAT-file header"},
      {"notmat", ("x"):rep(200), "not a MATLAB level-5 MAT-file"},
      {"v73", header("MATLAB 7.3 MAT-file, HDF5") .. good, "v7.3 file (HDF5)"},
      {"bigendian", header():sub(1, 126) .. "MI" .. good, "big-endian"},
      {"truncated", header() .. good:sub(1, #good - 9), "runs past the end of the file"},
      {"tagcut", header() .. "\14\0\0", "ends inside an element's tag"},
      {"complex", header() .. matrix("X", {1, 1}, {1}, MI.double, CLASS.double, 0x800), "is complex"},
      {"char", header() .. matrix("X", {1, 2}, {65, 66}, MI.uint8, CLASS.char), "not a numeric array"},
      {"negative", header() .. matrix("X", {-1, 2}, {}, MI.double), "dimension 1 is negative"},
      {"count", header() .. matrix("X", {3, 2}, {1, 2, 3, 4}, MI.double), "32 bytes of values for 6 values"},
      {"corrupt", header() .. string.pack("<I4I4", MI.compressed, 16) .. "\x78\x9c" .. ("\xff"):rep(14),
        "does not inflate to one element"},
      {"liar", header() .. string.pack("<I4I4", MI.compressed, #zlib(string.pack("<I4I4", MI.matrix, 1 << 30)))
        .. zlib(string.pack("<I4I4", MI.matrix, 1 << 30)), "claims 1073741824 bytes"},
    }
    for _, c in ipairs(cases) do
      local path = dir .. "/" .. c[1] .. ".mat"
      if c[2] then write(path, c[2]) end
      local ok, err = pcall(T.read_mat, path, "X")
      assert.is_false(ok, c[1])
      assert.truthy(tostring(err):find("read_mat: " .. path .. ": ", 1, true), c[1] .. ": " .. tostring(err))
      assert.truthy(tostring(err):find(c[3], 1, true), c[1] .. ": " .. tostring(err))
    end
    -- a compressed element whose data stops short of what it declares
    local z = zlib(good)
    local path = write(dir .. "/short.mat", header(), string.pack("<I4I4", MI.compressed, #z - 6), z:sub(1, #z - 6))
    local ok, err = pcall(T.read_mat, path, "X")
    assert.is_false(ok)
    assert.truthy(tostring(err):find("compressed data is corrupt", 1, true) or tostring(err):find("matrix's", 1, true),
      err)
  end)
end)

describe("read_svhn", function()
  local dir
  setup(function() dir = H.tmpdir() end)
  teardown(function() H.rm_rf(dir) end)

  for _, compress in ipairs{false, true} do
    it("reads X (32, 32, 3, n) as (n, 3, 32, 32) images and y 1..10 as digits 0..9 ("
      .. (compress and "compressed, y stored as bytes" or "plain") .. ")", function()
      local path = svhn_file(dir .. "/s.mat", 8, {compress = compress, y_storage = compress and MI.uint8 or nil})
      local images, labels = T.read_svhn(path)
      assert.same({8, 3, 32, 32}, images:size())
      local x, y = svhn_parts(8, 3)
      -- image i, channel ch, row r, column c: the value written at column-major (r, c, ch, i)
      for _, p in ipairs{{1, 1, 1, 1}, {2, 3, 32, 1}, {5, 2, 7, 19}, {4, 1, 1, 32}, {8, 3, 32, 32}} do
        local i, ch, r, c = p[1], p[2], p[3], p[4]
        local want = x[1 + (r - 1) + 32 * ((c - 1) + 32 * ((ch - 1) + 3 * (i - 1)))] / 255
        assert.near(want, images:get(i, ch, r, c), 1e-7)
      end
      local got = labels:totable()
      for i = 1, 8 do assert.equal(y[i] % 10, got[i]) end
      assert.equal(10, y[7])
      assert.equal(0, got[7])   -- 10 is the digit 0
    end)
  end

  it("refuses SVHN files that do not hold SVHN's variables", function()
    local x = svhn_parts(2, 3)
    local X = matrix("X", {32, 32, 3, 2}, x, MI.uint8, CLASS.uint8)
    local cases = {
      {"noy", header() .. X, "no variable named y"},
      {"flat", header() .. matrix("X", {2, 3}, {1, 2, 3, 4, 5, 6}, MI.double) .. matrix("y", {1, 1}, {1}, MI.double),
        "X must be (height, width, channels, images), got 2 dimensions"},
      {"count", header() .. X .. matrix("y", {3, 1}, {1, 2, 3}, MI.double), "X holds 2 images and y 3 labels"},
      {"label", header() .. X .. matrix("y", {2, 1}, {3, 11}, MI.double), "label 11 of image 2 is not a class 1 to 10"},
      {"zero", header() .. X .. matrix("y", {2, 1}, {0, 1}, MI.double), "label 0 of image 1"},
      {"channels", header() .. matrix("X", {32, 32, 2, 1}, {table.unpack(x, 1, 2048)}, MI.uint8, CLASS.uint8)
        .. matrix("y", {1, 1}, {1}, MI.double), "neither 1 nor 3 channels"},
      {"range", header() .. matrix("X", {1, 1, 1, 1}, {300}, MI.double) .. matrix("y", {1, 1}, {1}, MI.double),
        "outside the bytes 0 to 255"},
    }
    for _, c in ipairs(cases) do
      local path = write(dir .. "/" .. c[1] .. ".mat", c[2])
      local ok, err = pcall(T.read_svhn, path)
      assert.is_false(ok, c[1])
      assert.truthy(tostring(err):find("read_svhn: " .. path .. ": ", 1, true), c[1] .. ": " .. tostring(err))
      assert.truthy(tostring(err):find(c[3], 1, true), c[1] .. ": " .. tostring(err))
    end
    assert.same({2}, ({T.read_svhn(svhn_file(dir .. "/ok.mat", 2))})[2]:size())
  end)

  it("is a dataset: classify.lua --dataset svhn trains on the two files", function()
    local data = dir .. "/svhn"
    os.execute("mkdir -p " .. data)
    svhn_file(data .. "/train_32x32.mat", 24, {compress = true})
    svhn_file(data .. "/test_32x32.mat", 10)
    local code, out = H.run(("experiments/classify.lua --dataset svhn --data %s --epochs 1 --batch 8 --threads 1 "
      .. "--routing-iters 1 --save %s/m.tensors"):format(data, dir))
    assert.equal(0, code, out)
    assert.truthy(out:find("svhn, 24 train", 1, true), out)
    assert.truthy(out:find("epoch 1 ", 1, true), out)
    local set = capsrun.data.load("svhn", "test", {dir = data, limit = 4})
    assert.same({4, 3, 32, 32}, set.images:size())
    assert.equal("7", set.class_names[8])
    os.remove(data .. "/test_32x32.mat")
    local code2, out2 = H.run(("experiments/classify.lua --dataset svhn --data %s --epochs 1"):format(data))
    assert.are_not.equal(0, code2)
    assert.truthy(out2:find("test_32x32.mat", 1, true) and out2:find("ufldl.stanford.edu", 1, true), out2)
  end)
end)
