local capsrun = require "capsrun"
local T = capsrun.native
local H = require "spec.helpers"

describe("PNG grids", function()
  local dir
  setup(function() dir = H.tmpdir() end)
  teardown(function() H.rm_rf(dir) end)

  it("writes a grid that reads back to the same pixels, 8-bit quantised", function()
    local imgs = T.zeros(2, 3, 4, 5):uniform_(T.generator(1))
    local w, h = T.write_png_grid(dir .. "/g.png", imgs, {spacing = 2, scale = 1})
    -- 3 columns of 5 + 4 gaps of 2; 2 rows of 4 + 3 gaps of 2
    assert.equal(3 * 5 + 4 * 2, w); assert.equal(2 * 4 + 3 * 2, h)
    local back = T.read_png(dir .. "/g.png")
    assert.same({h, w}, back:size())
    for r = 1, 2 do for c = 1, 3 do for y = 1, 4 do for x = 1, 5 do
      local px = back:get(2 + (r - 1) * 6 + y, 2 + (c - 1) * 7 + x)
      assert.is_true(math.abs(px - imgs:get(r, c, y, x)) <= 0.5 / 255 + 1e-6)
    end end end end
    assert.near(0.5, back:get(1, 1), 1 / 255)      -- spacing is grey
  end)

  it("scales pixels up and clamps values to [0, 1]", function()
    local img = T.new{{-3, 0.5}, {2, 1}}
    local w, h = T.write_png_grid(dir .. "/s.png", img, {scale = 3, spacing = 0})
    assert.equal(6, w); assert.equal(6, h)
    local back = T.read_png(dir .. "/s.png")
    assert.equal(0, back:get(1, 1)); assert.equal(0, back:get(3, 3))
    assert.equal(1, back:get(4, 1)); assert.equal(1, back:get(6, 6))
    assert.near(0.5, back:get(1, 4), 1 / 255)
  end)

  it("lays out (n, h, w) stacks in columns", function()
    local w, h = T.write_png_grid(dir .. "/n.png", T.zeros(7, 2, 2), {cols = 3, spacing = 1})
    assert.equal(3 * 2 + 4, w); assert.equal(3 * 2 + 4, h)
  end)

  it("raises clear errors and leaves no partial file", function()
    assert.error_matches(function() T.write_png_grid(dir .. "/x.png", T.zeros(3)) end, "tensor expected")
    assert.error_matches(function() T.write_png_grid(dir .. "/x.png", T.zeros(2, 2), {scale = -1}) end,
      "'scale' must be an integer")
    assert.error_matches(function() T.write_png_grid(dir .. "/x.png", T.zeros(2, 2), {cols = 0}) end,
      "'cols' must be an integer")
    assert.error_matches(function() T.write_png_grid(dir .. "/no/such/x.png", T.zeros(2, 2)) end,
      "cannot create a file beside")
    assert.is_false(H.exists(dir .. "/x.png"))
    local p = io.popen("ls -a '" .. dir .. "'"); local ls = p:read("a"); p:close()
    assert.is_nil(ls:find("tmp"))
  end)

  it("refuses files that are not PNG, truncated or corrupt", function()
    H.write(dir .. "/text.png", "hello, not a png")
    assert.error_matches(function() T.read_png(dir .. "/text.png") end, "is not a PNG file")
    T.write_png_grid(dir .. "/ok.png", T.zeros(8, 8))
    local bytes = H.read(dir .. "/ok.png")
    H.write(dir .. "/cut.png", bytes:sub(1, 40))
    assert.error_matches(function() T.read_png(dir .. "/cut.png") end, "corrupt PNG")
    assert.error_matches(function() T.read_png(dir .. "/none.png") end, "cannot open")
  end)
end)

describe("training curves", function()
  local dir
  setup(function() dir = H.tmpdir() end)
  teardown(function() H.rm_rf(dir) end)

  it("draws loss and accuracy from a metrics CSV into a PNG", function()
    H.write(dir .. "/m.csv", "epoch,loss,train_acc,test_acc\n1,0.2,0.9,0.95\n2,0.1,0.95,0.97\n")
    capsrun.plot.metrics(dir .. "/m.csv", dir .. "/c.png")
    local img = T.read_png(dir .. "/c.png")
    assert.same({360, 900}, img:size())
    assert.is_true(img:min() < 0.5 and img:max() == 1)    -- lines on white
  end)

  it("adds a reconstruction panel when the CSV has one", function()
    H.write(dir .. "/r.csv", "epoch,loss,train_acc,test_acc,train_recon_mse,test_recon_mse\n1,0.2,0.9,0.95,0.05,0.04\n")
    capsrun.plot.metrics(dir .. "/r.csv", dir .. "/r.png")
    assert.same({360, 1350}, T.read_png(dir .. "/r.png"):size())
  end)

  it("rejects bad CSVs and bad specs", function()
    H.write(dir .. "/bad.csv", "epoch,loss\n1,2,3\n")
    assert.error_matches(function() capsrun.plot.read_csv(dir .. "/bad.csv") end, "line 2 has 3 fields")
    assert.has_error(function() capsrun.plot.metrics(dir .. "/none.csv", dir .. "/x.png") end)
    assert.error_matches(function() T.plot_curves(dir .. "/x.png", {panels = {}}) end, "between 1 and 4 panels")
    assert.error_matches(function() T.plot_curves(dir .. "/x.png",
      {panels = {{series = {{x = {1, 2}, y = {1}}}}}}) end, "2 x and 1 y") -- mismatched lengths
  end)
end)
