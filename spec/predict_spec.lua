-- Weights that describe their model, and images of any size brought to it.
local capsrun = require "capsrun"
local T = capsrun.native
local H = require "spec.helpers"
local preprocess = require "capsrun.preprocess"

describe("weights files", function()
  local dir
  setup(function() dir = H.tmpdir() end)
  teardown(function() H.rm_rf(dir) end)

  it("record the model, so load_model rebuilds it with no options", function()
    local m = capsrun.CapsNet.new{input = {3, 20, 20}, classes = 4, conv_channels = 8, primary_types = 2,
      digit_dim = 6, routing_iters = 2, gen = T.generator(1)}
    capsrun.train.save(m, dir .. "/caps.tensors", {class_names = {"ant", "bee", "cat", "dog"}, dataset = "folder"})
    local m2, decoder, cfg = capsrun.train.load_model(dir .. "/caps.tensors")
    assert.is_nil(decoder)
    assert.same({3, 20, 20}, cfg.input)
    assert.same({"ant", "bee", "cat", "dog"}, cfg.class_names)
    assert.equal(2, m2.digitcaps.routing_iters)
    assert.equal(0, (m2.digitcaps.weight - m.digitcaps.weight):norm())
    local cnn = capsrun.CNNBaseline.new{input = {1, 8, 8}, classes = 3, channels = {2, 2}, hidden = {4}, gen = T.generator(2)}
    capsrun.train.save(cnn, dir .. "/cnn.tensors")
    local cnn2 = capsrun.train.load_model(dir .. "/cnn.tensors")
    assert.equal(cnn:num_parameters(), cnn2:num_parameters())
    assert.equal("cnn", cnn2.kind)
  end)

  it("refuse another model in plain words", function()
    local m = capsrun.CapsNet.new{input = {1, 20, 20}, conv_channels = 8, primary_types = 2, gen = T.generator(3)}
    capsrun.train.save(m, dir .. "/grey.tensors")
    local rgb = capsrun.CapsNet.new{input = {3, 20, 20}, conv_channels = 8, primary_types = 2, gen = T.generator(3)}
    assert.error_matches(function() capsrun.train.load(rgb, dir .. "/grey.tensors") end,
      "holds the weights of a CapsNet on 1x20x20 images with 10 classes; this model is a CapsNet on 3x20x20 images", 1, true)
  end)
end)

describe("bringing images to the model", function()
  it("fits the ink of a digit in 20x20 and centres it by mass in 28x28, as MNIST did", function()
    local img = T.zeros(100, 80)
    for y = 11, 60 do for x = 31, 40 do img:set(y, x, 1) end end   -- a bar 50 tall, 10 wide
    local out = preprocess.mnist_fit(img)
    assert.same({28, 28}, out:size())
    local top, bottom, mass, my, mx = 29, 0, 0, 0, 0
    for y = 1, 28 do for x = 1, 28 do
      local v = out:get(y, x)
      if v > 0.1 then top, bottom = math.min(top, y), math.max(bottom, y) end
      mass, my, mx = mass + v, my + v * (y - 1), mx + v * (x - 1)
    end end
    assert.equal(20, bottom - top + 1)                 -- the long side scaled to 20
    assert.is_true(math.abs(my / mass - 13.5) <= 0.5 and math.abs(mx / mass - 13.5) <= 0.5,
      ("centre of mass at (%.2f, %.2f)"):format(my / mass, mx / mass))
  end)

  it("resizes for other models, and says what it did", function()
    local x, note = preprocess.to_input(T.zeros(3, 10, 12), {3, 20, 24}, false)
    assert.same({3, 20, 24}, x:size())
    assert.equal("resized from 12x10 to 24x20", note)
    local same, note2 = preprocess.to_input(T.zeros(20, 24), {1, 20, 24}, false)
    assert.same({1, 20, 24}, same:size())
    assert.equal("as it is", note2)
  end)
end)
