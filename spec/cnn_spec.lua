-- The CNN baseline and its layers: padding, max pooling, dropout, softmax
-- cross-entropy, checked against values worked out by hand.
local capsrun = require "capsrun"
local T = capsrun.native
local H = require "spec.helpers"

describe("CNN layers", function()
  it("pads with zeros and takes the gradient back from the inside", function()
    local conv = capsrun.Conv2d.new(1, 1, 3, 1, 1, T.generator(1))
    conv.weight:fill_(0); conv.weight:set(1, 1, 2, 2, 1); conv.bias:fill_(0)   -- identity kernel
    local x = T.new{{{{1, 2}, {3, 4}}}}
    assert.same({{{{1, 2}, {3, 4}}}}, conv:forward(x):totable())               -- same size out
    local g = conv:backward(x, T.ones(1, 1, 2, 2))
    assert.same({{{{1, 1}, {1, 1}}}}, g:totable())
    assert.truthy(tostring(conv):find("padding 1", 1, true))
  end)

  it("max-pools and sends each gradient to its window's winner", function()
    local pool = capsrun.MaxPool2d.new(2)
    local x = T.new{{{{1, 5, 2, 0}, {3, 4, 8, 1}, {0, 0, 1, 1}, {9, 0, 1, 2}}}}
    assert.same({{{{5, 8}, {9, 2}}}}, pool:forward(x):totable())
    local g = pool:backward(x, T.new{{{{10, 20}, {30, 40}}}})
    assert.same({{{{0, 10, 0, 0}, {0, 0, 20, 0}, {0, 0, 0, 0}, {30, 0, 0, 40}}}}, g:totable())
    assert.error_matches(function() pool:forward(T.zeros(1, 1, 1, 4)) end, "at least 2x2 pixels expected")
  end)

  it("drops about p of the values in training, scales the rest, and is the identity in evaluation", function()
    local d = capsrun.Dropout.new(0.25, T.generator(3))
    local x = T.ones(100, 100)
    local y = d:forward(x)
    local zeros, scaled = 0, 0
    for _, v in ipairs(y:view(-1):totable()) do
      if v == 0 then zeros = zeros + 1 elseif math.abs(v - 1 / 0.75) < 1e-6 then scaled = scaled + 1 end
    end
    assert.equal(10000, zeros + scaled)
    assert.is_true(math.abs(zeros - 2500) < 200, zeros .. " zeros")
    local g = d:backward(x, T.ones(100, 100))
    assert.equal(0, (g - y):norm())                     -- same mask, same scale
    d:evaluate()
    assert.equal(0, (d:forward(x) - x):norm())
    assert.error_matches(function() capsrun.Dropout.new(1) end, "probability in %[0, 1%)")
  end)

  it("computes softmax cross-entropy by hand", function()
    local ce = capsrun.CrossEntropyLoss.new()
    local logits, labels = T.new{{0, math.log(3)}, {2, 2}}, T.new{1, 0}
    -- sample 1: softmax (1/4, 3/4), label 1 -> -log 3/4; sample 2: (1/2, 1/2) -> log 2
    assert.near((-math.log(0.75) + math.log(2)) / 2, ce:forward(logits, labels), 1e-6)
    local g = ce:backward(logits, labels)
    assert.near(0.25 / 2, g:get(1, 1), 1e-6); assert.near(-0.25 / 2, g:get(1, 2), 1e-6)
    assert.near(-0.5 / 2, g:get(2, 1), 1e-6); assert.near(0.5 / 2, g:get(2, 2), 1e-6)
    assert.error_matches(function() ce:forward(logits, T.new{2, 0}) end, "not a class in %[0, 1%]")
  end)
end)

describe("CNNBaseline", function()
  it("has the paper's 35.4M parameters at 28x28 and derives its shapes from the input", function()
    local m = capsrun.CNNBaseline.new{gen = T.generator(1)}
    -- convolutions 6,656 + 1,638,656 + 819,328; fully connected 32,915,784 + 63,168 + 1,930
    assert.equal(35445522, m:num_parameters())
    local small = capsrun.CNNBaseline.new{input = {3, 8, 10}, classes = 5, channels = {4, 4, 2}, gen = T.generator(2)}
    assert.same({2, 5}, small:forward(T.zeros(2, 3, 8, 10)):size())
    assert.same({328, 2 * 8 * 10}, small.modules[8].weight:size())   -- flatten: channels x h x w
  end)

  it("max-pools after the convolutions it is told to, and keeps that through save and load_model", function()
    -- the affine baseline at 40x40: 2x2 pooling after convolutions 1 and 2 leaves 128 x 10 x 10
    local m = capsrun.CNNBaseline.new{input = {1, 40, 40}, pool = {2, 2}, gen = T.generator(1)}
    -- convolutions 6,656 + 1,638,656 + 819,328; fully connected 4,198,728 + 63,168 + 1,930
    assert.equal(6728466, m:num_parameters())
    local small = capsrun.CNNBaseline.new{input = {1, 9, 12}, classes = 4, channels = {2, 3, 2}, pool = {1, 3},
      gen = T.generator(2)}
    assert.same({2, 4}, small:forward(T.zeros(2, 1, 9, 12)):size())
    assert.same({328, 2 * 3 * 4}, small.modules[9].weight:size())   -- pooled by 3 after convolution 2 only
    local dir = H.tmpdir()
    capsrun.train.save(small, dir .. "/pooled.tensors")
    local back = capsrun.train.load_model(dir .. "/pooled.tensors")
    assert.same({1, 3}, back.config.pool)
    local x = T.zeros(2, 1, 9, 12):uniform_(T.generator(3))
    small:evaluate(); back:evaluate()
    assert.equal(0, (small:forward(x) - back:forward(x)):norm())
    H.rm_rf(dir)
  end)

  it("rejects pooling it cannot do, naming the option", function()
    assert.error_matches(function() capsrun.CNNBaseline.new{pool = {2, 0}} end, "pool%[2%] must be a positive integer")
    assert.error_matches(function() capsrun.CNNBaseline.new{pool = {2, 2, 2, 2}} end, "at most 3 pooling sizes")
    assert.error_matches(function() capsrun.CNNBaseline.new{pool = 2} end, "pool must be a list")
    assert.error_matches(function() capsrun.CNNBaseline.new{input = {1, 4, 4}, pool = {2, 2, 2}} end,
      "pool%[3%] = 2 does not fit the 1x1 maps after convolution 3")
    for _, bad in ipairs{"2,x", "2,,2", "0", "2,2,2,2"} do
      local code, out = H.run(("experiments/classify.lua --model cnn --cnn-pool %s --data %s --limit 32 --epochs 1"):format(
        bad, H.mnist()))
      assert.equal(2, code, out)
      assert.truthy(out:find("--cnn-pool: none, or one to three integers", 1, true), out)
    end
  end)

  it("trains with classify.lua --model cnn, and the loss falls", function()
    local dir = H.tmpdir()
    local code, out = H.run(("experiments/classify.lua --model cnn --data %s --limit 96 --epochs 2 --batch 16 " ..
      "--lr-schedule exp --lr 1e-3 --precision f32 --save %s/cnn.tensors"):format(H.mnist(), dir))
    assert.equal(0, code, out)
    assert.truthy(out:find("CNN baseline: 35445522 parameters", 1, true), out)
    local l1 = tonumber(out:match("epoch 1  loss ([%d.]+)"))
    local l2 = tonumber(out:match("epoch 2  loss ([%d.]+)"))
    assert.is_true(l2 < l1, ("loss %g -> %g"):format(l1, l2))
    assert.is_true(H.exists(dir .. "/cnn.tensors"))
    H.rm_rf(dir)
  end)
end)
