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

  it("plots every accuracy-like column, and no reconstruction panel when its values are all nan", function()
    H.write(dir .. "/mm.csv", "epoch,loss,train_both_correct,test_both_correct,test_recon_mse,seconds\n" ..
      "1,3.9,0.22,0.41,-nan,1765\n2,2.8,0.44,0.59,-nan,1793\n")
    local panels = capsrun.plot.metrics(dir .. "/mm.csv", dir .. "/mm.png")
    assert.equal(2, #panels)
    local acc = panels[2].series
    assert.same({"train both correct", "test both correct"}, {acc[1].label, acc[2].label})
    assert.same({41, 59}, {acc[2].y[1], acc[2].y[2]})
    assert.same({360, 900}, T.read_png(dir .. "/mm.png"):size())
    H.write(dir .. "/mr.csv", "epoch,loss,train_both_correct,test_both_correct,test_recon_mse,seconds\n1,3,0.5,0.6,0.03,300\n")
    panels = capsrun.plot.metrics(dir .. "/mr.csv", dir .. "/mr.png")
    assert.equal(3, #panels)
    assert.same({"test"}, {panels[3].series[1].label, panels[3].series[2]})
    H.write(dir .. "/af.csv", "epoch,loss,train_acc,test_acc,affine_acc\n1,0.1,0.9,0.98,0.84\n")
    local labels = {}
    for _, se in ipairs(capsrun.plot.metrics(dir .. "/af.csv", dir .. "/af.png")[2].series) do labels[#labels + 1] = se.label end
    assert.same({"train", "test", "affine"}, labels)
  end)

  it("keeps an accuracy axis within [0, 100]%, with the legend below curves that reach the top", function()
    H.write(dir .. "/hi.csv", "epoch,loss,train_acc,test_acc\n1,0.2,0.95,0.97\n2,0.1,0.995,0.999\n")
    local panels = capsrun.plot.metrics(dir .. "/hi.csv", dir .. "/hi.png")
    assert.same({0, 100}, panels[2].ylimits)
    -- the accuracy panel spans x in [520, 875] and y in [36, 310]: the top 20 rows of its plot area
    -- hold the curves near 100% and no legend box; its legend (grey frame) sits near the bottom
    local img = T.read_png(dir .. "/hi.png", 3)
    local function greys(y1, y2)
      local k = 0
      for y = y1, y2 do for x = 700, 870 do
        local r, g, b = img:get(1, y, x), img:get(2, y, x), img:get(3, y, x)
        if math.abs(r - 0.8) < 0.03 and r == g and g == b then k = k + 1 end   -- the frame, anti-aliased
      end end
      return k
    end
    assert.equal(0, greys(38, 80))
    assert.truthy(greys(250, 308) > 50)
    -- the same data without limits: the axis runs past 100 to make room for the legend above
    local free = {{title = "a", series = panels[2].series}}
    T.plot_curves(dir .. "/free.png", {width = 450, height = 360, panels = free})
    assert.error_matches(function() T.plot_curves(dir .. "/x.png", {panels = {{series = panels[2].series,
      ylimits = {1, 0}}}}) end, "ylimits must be {lo, hi} with finite numbers lo < hi")
    assert.error_matches(function() T.plot_curves(dir .. "/x.png", {panels = {{series = panels[2].series,
      ylimits = "0..1"}}}) end, "ylimits must be")
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

describe("captioned image grids", function()
  local dir
  setup(function() dir = H.tmpdir() end)
  teardown(function() H.rm_rf(dir) end)

  local function digits(n)
    local t = T.zeros(n, 1, 10, 12)
    for i = 1, n do t:set(i, 1, 5, 6, 1) end   -- one white pixel per image
    return t
  end

  it("lays out images with coloured lines under them, pixels kept sharp", function()
    local path = dir .. "/c.png"
    local w, h = capsrun.write_png_captioned(path, digits(3),
      {{"a", {"b", color = "green"}}, {{"c", color = {0, 0, 1}}}, {}}, {cols = 2, scale = 3, title = "t"})
    -- cells at least 76 wide, 6 of padding; rows of 30 pixels + 2 lines of 14 + 4; a 24-pixel title
    assert.equal(6 + 2 * (76 + 6), w)
    assert.equal(6 + 24 + 2 * (30 + 2 * 14 + 4 + 6), h)
    local img = T.read_png(path, 3)
    assert.same({3, h, w}, img:size())
    -- image 1 is centred in its cell: x from 6 + (76 - 36) / 2 = 26, y from 30; its white pixel
    -- (row 5, column 6) covers 3 x 3 output pixels, its black neighbours stay black
    local x0, y0 = 6 + 20 + 5 * 3, 6 + 24 + 4 * 3
    for c = 1, 3 do
      assert.equal(1, img:get(c, y0 + 1, x0 + 1))
      assert.equal(1, img:get(c, y0 + 3, x0 + 3))
      assert.equal(0, img:get(c, y0 + 4, x0 + 1))
    end
    -- the green caption under image 1, the blue one under image 2, none under image 3
    local function count(x1, x2, y1, y2, pred)
      local k = 0
      for y = y1, y2 do for x = x1, x2 do
        if pred(img:get(1, y, x), img:get(2, y, x), img:get(3, y, x)) then k = k + 1 end
      end end
      return k
    end
    local green = function(r, g, b) return g > 0.35 and r < 0.3 and b < 0.3 end
    local blue = function(r, g, b) return b > 0.6 and r < 0.3 and g < 0.3 end
    local caption_y1, caption_y2 = 6 + 24 + 30 + 1, 6 + 24 + 30 + 32
    assert.truthy(count(7, 82, caption_y1, caption_y2, green) > 0)
    assert.equal(0, count(7, 82, caption_y1, caption_y2, blue))
    assert.truthy(count(89, 164, caption_y1, caption_y2, blue) > 0)
    local row2 = caption_y2 + 6 + 30 + 1
    assert.equal(0, count(7, 82, row2, row2 + 28, function(r, g, b) return r + g + b < 2.5 end))
  end)

  it("wraps a title wider than the grid onto more lines, the grid keeping its width", function()
    local short_w, short_h = capsrun.write_png_captioned(dir .. "/s.png", digits(2), {{"a"}, {"b"}}, {title = "t"})
    local long = ("a title far wider than two small cells of a grid, "):rep(4)
    local w, h = capsrun.write_png_captioned(dir .. "/l.png", digits(2), {{"a"}, {"b"}}, {title = long})
    assert.equal(short_w, w)
    assert.truthy(h >= short_h + 4 * 17, ("%d x %d against %d x %d"):format(w, h, short_w, short_h))
    -- every line of it is drawn: dark pixels in each 17-pixel band of the title
    local img = T.read_png(dir .. "/l.png")
    for band = 0, (h - short_h) // 17 do
      local dark = 0
      for y = 8 + band * 17, 20 + band * 17 do for x = 1, w do if img:get(y, x) < 0.5 then dark = dark + 1 end end end
      assert.truthy(dark > 0, "title line " .. band + 1 .. " is empty")
    end
  end)

  it("raises clear errors and leaves no file behind", function()
    local path = dir .. "/bad.png"
    local cases = {
      {{"x", T.zeros(3), {{}}}, "bad argument #2"},
      {{"x", digits(2), {{"a"}}}, "1 captions for 2 images"},
      {{"x", digits(1), {"a"}}, "captions[1] must be a list of lines"},
      {{"x", digits(1), {{{1}}}}, "captions[1][1][1] must be the text"},
      {{"x", digits(1), {{5}}}, "captions[1][1] must be a string or {text, color = ...}"},
      {{"x", digits(1), {{{"a", color = "mauve"}}}}, "unknown color 'mauve'"},
      {{"x", digits(1), {{{"a", color = {1, 2, 0}}}}}, "numbers in [0, 1]"},
      {{"x", digits(1), {{"1", "2", "3", "4", "5", "6", "7", "8", "9"}}}, "at most 8"},
      {{"x", digits(1), {{"a"}}, {scale = 0}}, "'scale' must be in [1, 64]"},
      {{"x", digits(1), {{"a"}}, {cols = 0}}, "'cols' must be in [1, 8000]"},
      {{"x", T.zeros(1, 1, 2100, 10), {{"a"}}, {scale = 4}}, "larger than 8000 pixels"},
      {{"x", digits(2), {{}, {}}, {cols = 2, row_labels = {"a", "b"}}}, "'row_labels' must list 1 strings (one per row)"},
      {{"x", digits(2), {{}, {}}, {cols = 2, col_labels = {"a"}}}, "'col_labels' must list 2 strings (one per column)"},
      {{"x", digits(1), {{}}, {col_labels = {{}}}}, "'col_labels'[1] must be a string"},
      {{"x", T.zeros(1, 2, 3, 3), {{}}}, "(n, 3, h, w) tensor of images expected"},
    }
    for _, c in ipairs(cases) do
      c[1][1] = path
      assert.error_matches(function() capsrun.write_png_captioned(table.unpack(c[1], 1, 4)) end, c[2], nil, true)
    end
    assert.is_false(H.exists(path))
    assert.error_matches(function() capsrun.write_png_captioned(dir .. "/no/such/dir/x.png", digits(1), {{"a"}}) end,
      "write_png_captioned: ")
  end)
end)
