local capsrun = require "capsrun"
local T = capsrun.native
local H = require "spec.helpers"

describe("tensor files", function()
  local dir
  setup(function() dir = H.tmpdir() end)
  teardown(function() H.rm_rf(dir) end)

  local function saved()
    local path = dir .. "/t.tensors"
    T.save_tensors(path, {a = T.new{{1, 2}, {3, 4}}, b = T.new{5}, empty = T.zeros(0), meta = "k=v\n\0x"})
    return path
  end

  it("round-trips named tensors with their shapes, and byte strings", function()
    local t = T.load_tensors(saved())
    assert.same({{1, 2}, {3, 4}}, t.a:totable())
    assert.same({5}, t.b:totable())
    assert.equal(0, t.empty:numel())
    assert.equal("k=v\n\0x", t.meta)
  end)

  it("reads one entry alone, skipping the others' data", function()
    local path = saved()
    assert.equal("k=v\n\0x", T.load_tensor_entry(path, "meta"))
    assert.same({5}, T.load_tensor_entry(path, "b"):totable())
    assert.same({{1, 2}, {3, 4}}, T.load_tensor_entry(path, "a"):totable())
    assert.is_nil(T.load_tensor_entry(path, "none"))
    local bytes = H.read(path)
    H.write(dir .. "/cut.tensors", bytes:sub(1, #bytes - 3))
    assert.error_matches(function() T.load_tensor_entry(dir .. "/cut.tensors", "meta") end, "load_tensor_entry: .*cut.tensors")
    assert.error_matches(function() T.load_tensor_entry(dir .. "/none.tensors", "a") end, "cannot open")
  end)

  it("leaves no temporary file, and none when the folder cannot be written", function()
    saved()
    local p = io.popen("ls '" .. dir .. "'")
    local listing = p:read("a"); p:close()
    assert.is_nil(listing:find("tmp"))
    assert.error_matches(function() T.save_tensors(dir .. "/no/such/dir/x", {a = T.zeros(1)}) end,
      "cannot create a file beside")
  end)

  it("rejects bad tables", function()
    assert.error_matches(function() T.save_tensors(dir .. "/x", {1, 2}) end, "name = tensor")
    assert.error_matches(function() T.save_tensors(dir .. "/x", {a = 1}) end, "name = tensor")
  end)

  it("rejects truncated, bit-flipped, foreign and future files", function()
    local good = H.read(saved())
    local function load_bytes(bytes)
      local p = dir .. "/bad"
      H.write(p, bytes)
      return function() T.load_tensors(p) end
    end
    for cut = 1, #good - 1 do
      assert.has_error(load_bytes(good:sub(1, cut)))
    end
    -- a flipped bit anywhere is caught: in the header by its CRC, in data by the entry's
    for pos = 9, #good, 3 do
      local flipped = good:sub(1, pos - 1) .. string.char(good:byte(pos) ~ 4) .. good:sub(pos + 1)
      assert.has_error(load_bytes(flipped))
    end
    local last = #good - 1
    assert.error_matches(load_bytes(good:sub(1, last - 1) .. string.char(good:byte(last) ~ 1) .. good:sub(last + 1)),
      "checksum mismatch")
    assert.error_matches(load_bytes("GIF89a" .. good), "bad magic")
    assert.error_matches(load_bytes(good:sub(1, 8) .. string.pack("<I4", 99) .. good:sub(13)), "version 99")
    assert.error_matches(load_bytes(good .. "x"), "the file holds")
  end)

  local function header_file(count, header)
    local top = string.pack("<I4I4", count, #header)
    local crc = T.crc32(top .. header)
    return "CAPSTNS1" .. string.pack("<I4", 2) .. top .. header .. string.pack("<I4", crc)
  end

  it("refuses absurd shapes and counts before allocating", function()
    local p = dir .. "/absurd"
    local entry = string.pack("<BI4", 0, 1) .. "w" .. string.pack("<I4", 2) ..
      string.pack("<I8I8", 1 << 40, 1 << 40) .. string.pack("<I4", 0)
    H.write(p, header_file(1, entry) .. "abcd")
    assert.error_matches(function() T.load_tensors(p) end, "larger than the file")
    H.write(p, "CAPSTNS1" .. string.pack("<I4I4I4", 2, 0xFFFFFFFF, 0xFFFFFFF0))
    assert.error_matches(function() T.load_tensors(p) end, "does not fit the file")
  end)
end)
