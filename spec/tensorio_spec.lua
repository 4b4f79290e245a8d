local capsrun = require "capsrun"
local T = capsrun.native
local H = require "spec.helpers"

describe("tensor files", function()
  local dir
  setup(function() dir = H.tmpdir() end)
  teardown(function() H.rm_rf(dir) end)

  local function saved()
    local path = dir .. "/t.tensors"
    T.save_tensors(path, {a = T.new{{1, 2}, {3, 4}}, b = T.new{5}, empty = T.zeros(0)})
    return path
  end

  it("round-trips named tensors with their shapes", function()
    local t = T.load_tensors(saved())
    assert.same({{1, 2}, {3, 4}}, t.a:totable())
    assert.same({5}, t.b:totable())
    assert.equal(0, t.empty:numel())
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
    assert.error_matches(function() T.save_tensors(dir .. "/x", {1, 2}) end, "name = tensor pairs")
    assert.error_matches(function() T.save_tensors(dir .. "/x", {a = "x"}) end, "name = tensor pairs")
  end)

  it("rejects truncated, bit-flipped, foreign and future files", function()
    local good = H.read(saved())
    local function load_bytes(bytes)
      local p = dir .. "/bad"
      H.write(p, bytes)
      return function() T.load_tensors(p) end
    end
    for cut = 1, #good - 1, 7 do
      assert.has_error(load_bytes(good:sub(1, cut)))
    end
    local flipped = good:sub(1, #good - 3) .. string.char(good:byte(#good - 2) ~ 1) .. good:sub(#good - 1)
    assert.error_matches(load_bytes(flipped), "checksum mismatch")
    assert.error_matches(load_bytes("GIF89a" .. good), "bad magic")
    assert.error_matches(load_bytes(good:sub(1, 8) .. string.pack("<I4", 99) .. good:sub(13)), "version 99")
    assert.error_matches(load_bytes(good .. "x"), "trailing bytes")
  end)

  it("refuses absurd shapes before allocating", function()
    local header = "CAPSTNS1" .. string.pack("<I4I4", 1, 1)
    local entry = string.pack("<I4", 1) .. "w" .. string.pack("<I4", 2) ..
      string.pack("<I8I8", 1 << 40, 1 << 40) .. string.pack("<I4", 0)
    local p = dir .. "/absurd"
    H.write(p, header .. entry .. "abcd")
    assert.error_matches(function() T.load_tensors(p) end, "shape larger than the file")
    H.write(p, "CAPSTNS1" .. string.pack("<I4I4", 1, 0xFFFFFFFF))
    assert.error_matches(function() T.load_tensors(p) end, "implausible tensor count")
  end)
end)
