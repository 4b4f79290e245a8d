-- reconstruct.lua and perturb.lua end to end on a few hundred MNIST images.
local capsrun = require "capsrun"
local H = require "spec.helpers"

describe("experiments/reconstruct.lua and perturb.lua", function()
  local dir
  setup(function() dir = H.tmpdir() end)
  teardown(function() H.rm_rf(dir) end)

  it("train Efficient-CapsNet with the decoder on its paper's schedule, then reload and perturb it", function()
    local code, out = H.run(("experiments/reconstruct.lua --data %s --limit 200 --epochs 1 --model efficient " ..
      "--batch 16 --lr 5e-4 --lr-schedule exp --lr-decay 0.98 --save %s/eff/efficient.tensors"):format(H.mnist(), dir))
    assert.equal(0, code, out)
    assert.truthy(out:find("Efficient-CapsNet + decoder: 161824 + 1411344 parameters, self-attention routing, " ..
      "batch 16, lr 0.0005", 1, true), out)
    assert.truthy(out:find("test recon mse", 1, true), out)
    assert.is_true(H.exists(dir .. "/eff/reconstructions.png"))
    local model, decoder, cfg = capsrun.train.load_model(dir .. "/eff/efficient.tensors")
    assert.equal("efficient", cfg.kind)
    assert.equal(161824, model:num_parameters())
    assert.equal(1411344, decoder:num_parameters())
    local code2, out2 = H.run(("experiments/perturb.lua --data %s --load %s/eff/efficient.tensors --images 0 " ..
      "--out %s/effpt --scale 1"):format(H.mnist(), dir, dir))
    assert.equal(0, code2, out2)
    -- CapsNet's options are not Efficient-CapsNet's
    local code3, out3 = H.run(("experiments/reconstruct.lua --data %s --model cnn"):format(H.mnist()))
    assert.equal(2, code3)
    assert.truthy(out3:find("capsnet, efficient", 1, true), out3)
  end)

  it("train an autoencoder, write the figures, and reload the checkpoint", function()
    local code, out = H.run(("experiments/reconstruct.lua --data %s --limit 300 --epochs 1 --routing-iters 1 " ..
      "--save %s/ae/capsnet.tensors"):format(H.mnist(), dir))
    assert.equal(0, code, out)
    assert.truthy(out:find("test recon mse", 1, true))
    local fig = capsrun.read_png(dir .. "/ae/reconstructions.png")
    -- 2 rows x 10 columns of 28x28 at scale 3, with a title, captions under each image and row labels
    assert.is_true(fig:size(1) > 2 * 84 + 2 * 14 + 24 and fig:size(2) > 10 * 84 + 64, table.concat(fig:size(), "x"))
    assert.equal(2, H.labelled_rows(fig, 2, 84 + 14 + 4, 0))
    assert.truthy(H.read(dir .. "/ae/metrics.csv"):find("test_recon_mse", 1, true))
    assert.is_true(H.exists(dir .. "/ae/curves.png"))

    local code2, out2 = H.run(("experiments/reconstruct.lua --data %s --limit 300 --epochs 0 --routing-iters 1 " ..
      "--load %s/ae/capsnet.tensors --save %s/ae2/x.tensors"):format(H.mnist(), dir, dir))
    assert.equal(0, code2, out2)
    assert.truthy(out2:find("test acc", 1, true))

    local code3, out3 = H.run(("experiments/perturb.lua --data %s --load %s/ae/capsnet.tensors --images 0,3 " ..
      "--routing-iters 1 --out %s/pt --scale 1"):format(H.mnist(), dir, dir))
    assert.equal(0, code3, out3)
    local name = out3:match("(perturb%-%d%-0%.png)")
    assert.truthy(name, out3)
    local img = capsrun.read_png(dir .. "/pt/" .. name)
    -- 16 dimensions x (original + 11 deltas), with a title, the perturbation over each column and
    -- the dimension left of each row
    assert.is_true(img:size(1) > 16 * 28 + 40 and img:size(2) > 12 * 28 + 64, table.concat(img:size(), "x"))
    assert.equal(16, H.labelled_rows(img, 16, 28 + 4))

    -- predict.lua on a user's PNG, dark on light, with the reconstruction
    local test = capsrun.data.load("mnist", "test", {dir = H.mnist(), limit = 1})
    capsrun.write_png_grid(dir .. "/digit.png", 1 - test.images:reshape(28, 28), {spacing = 0})
    local code4, out4 = H.run(("experiments/predict.lua --load %s/ae/capsnet.tensors --invert --top 2 " ..
      "--out %s/pred.png %s/digit.png"):format(dir, dir, dir))
    assert.equal(0, code4, out4)
    -- the weights name their classes; two of them, with capsule lengths
    assert.truthy(out4:find("digit.png: %d [01]%.%d%d, %d [01]%.%d%d %(capsule lengths%)"), out4)
    assert.truthy(out4:find("MNIST preprocessing from 28x28", 1, true), out4)
    local pred = capsrun.read_png(dir .. "/pred.png")   -- input over reconstruction, captioned, labelled rows
    assert.is_true(pred:size(1) > 2 * 84 + 2 * 14 + 24, table.concat(pred:size(), "x"))
    assert.equal(2, H.labelled_rows(pred, 2, 84 + 2 * 14 + 4, 0))
    local code5, out5 = H.run(("experiments/predict.lua --load %s/ae/capsnet.tensors %s/nothing.png"):format(dir, dir))
    assert.equal(1, code5)
    assert.truthy(out5:find("cannot open", 1, true))
    -- a folder as people have it: a PNG (dark on light), a JPEG, a broken image, a text file
    assert(capsrun.native.mkdir(dir .. "/mine"))
    capsrun.write_png_grid(dir .. "/mine/a.png", 1 - test.images:reshape(28, 28), {spacing = 0})
    capsrun.write_jpeg(dir .. "/mine/b.jpg", test.images:reshape(28, 28), 95)
    capsrun.write_png_grid(dir .. "/mine/small.png", test.images:reshape(28, 28):narrow(1, 10), {spacing = 0})
    H.write(dir .. "/mine/broken.png", "not an image")
    H.write(dir .. "/mine/notes.txt", "hello")
    local code6, out6 = H.run(("experiments/predict.lua --load %s/ae/capsnet.tensors %s/mine"):format(dir, dir))
    assert.equal(0, code6, out6)
    assert.truthy(out6:find("a.png: looks like dark ink on a light page", 1, true), out6)
    assert.truthy(out6:find("b.jpg: %d [01]%.%d%d"), out6)
    assert.truthy(out6:find("small.png: 28x10 pixels, smaller than the model's 28x28 input", 1, true), out6)
    assert.truthy(out6:find("could not read 1 of 4 images:\n  .*broken.png"), out6)
    assert.is_nil(out6:find("notes.txt", 1, true), out6)
    local _, out7 = H.run(("experiments/predict.lua --load %s/ae/capsnet.tensors --guess-invert %s/mine/a.png")
      :format(dir, dir))
    assert.is_nil(out7:find("dark ink", 1, true), out7)
    assert.truthy(out7:find("a.png: %d [01]%.%d%d"), out7)
  end)

  it("refuse a missing or mismatched checkpoint and bad image indices", function()
    local code, out = H.run(("experiments/perturb.lua --data %s --load %s/none.tensors"):format(H.mnist(), dir))
    assert.equal(1, code)
    assert.truthy(out:find("cannot open", 1, true))
    local code2, out2 = H.run(("experiments/perturb.lua --data %s --images 1000"):format(H.mnist()))
    assert.equal(2, code2)
    assert.truthy(out2:find("'1000' is not a test index in [0, 999]", 1, true))
    local code3 = H.run(("experiments/reconstruct.lua --data %s --load %s/none.tensors"):format(H.mnist(), dir))
    assert.equal(1, code3)
  end)
end)
