-- tools/colour_mnist.lua: MNIST in colour as CIFAR-10 batches; read back
-- through the CIFAR reader: the labels, each digit's stroke and background
-- in two colours at least 0.35 apart in brightness, the 2-pixel frame.
local capsrun = require "capsrun"
local H = require "spec.helpers"
local T = capsrun.native

describe("tools/colour_mnist.lua", function()
  it("writes MNIST in two colours per image as CIFAR-10 batches that the experiments read", function()
    local dir = H.tmpdir()
    local code, out = H.run(("tools/colour_mnist.lua %s/cm --data %s --train 12 --test 7 --seed 3"):format(dir, H.mnist()))
    assert.equal(0, code, out)
    assert.truthy(out:find("12 training and 7 test images", 1, true), out)
    local mnist = capsrun.data.load("mnist", "test", {dir = H.mnist()})
    local x, y = T.read_cifar(dir .. "/cm/test_batch.bin", 10)
    assert.same({7, 3, 32, 32}, x:size())
    local function luma(i, r, c) return 0.299 * x:get(i, 1, r, c) + 0.587 * x:get(i, 2, r, c) + 0.114 * x:get(i, 3, r, c) end
    for i = 1, 7 do
      assert.equal(mnist.labels:get(i), y:get(i))
      -- the brightest stroke pixel of the digit against the corner (background)
      local best, br, bc = -1, 3, 3
      for r = 1, 28 do for c = 1, 28 do
        if mnist.images:get(i, 1, r, c) > best then best, br, bc = mnist.images:get(i, 1, r, c), r + 2, c + 2 end
      end end
      assert.is_true(best > 0.3)
      -- stroke = background (1 - v) + colour v: the brightness gap is at least 0.35 v (less rounding to bytes)
      assert.is_true(math.abs(luma(i, br, bc) - luma(i, 1, 1)) > 0.35 * best - 0.01, ("image %d: %g against %g"):format(i,
        luma(i, br, bc), luma(i, 1, 1)))
      for c = 1, 3 do assert.equal(x:get(i, c, 1, 1), x:get(i, c, 32, 32)) end   -- one background colour
    end
    -- five training batches holding the 12 images, and what an experiment loads
    local set = capsrun.data.load("cifar10", "train", {dir = dir .. "/cm"})
    assert.equal(12, set.n)
    local code2, out2 = H.run(("tools/colour_mnist.lua %s/cm --data %s/nowhere"):format(dir, dir))
    assert.equal(1, code2, out2)
    assert.truthy(out2:find("mnist not found", 1, true), out2)
    H.rm_rf(dir)
  end)
end)
