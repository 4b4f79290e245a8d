-- experiments/classify.lua end to end, on a few hundred real MNIST images.
local H = require "spec.helpers"

describe("experiments/classify.lua", function()
  local dir
  setup(function() dir = H.tmpdir() end)
  teardown(function() H.rm_rf(dir) end)

  it("prints its options with --help", function()
    local code, out = H.run("experiments/classify.lua --help")
    assert.equal(0, code)
    for _, o in ipairs({"--data", "--dataset", "--epochs", "--batch", "--lr", "--routing-iters",
                        "--limit", "--seed", "--save"}) do
      assert.truthy(out:find(o, 1, true), o)
    end
  end)

  it("rejects bad options with exit code 2", function()
    local code, out = H.run("experiments/classify.lua --epochs zero")
    assert.equal(2, code)
    assert.truthy(out:find("--epochs: an integer expected", 1, true))
    assert.truthy(select(2, H.run("experiments/classify.lua --batch 0")):find("an integer >= 1", 1, true))
    assert.equal(2, (H.run("experiments/classify.lua --dataset cifar")))
    assert.equal(2, (H.run("experiments/classify.lua --frobnicate")))
    -- the EM model's options, refused before any training (nothing is saved)
    for _, bad in ipairs{"--em-sizes 64,8,16", "--em-sizes 64,8,x,16", "--em-sizes 0,8,16,16", "--em-temp 0",
                         "--em-temp 1.5", "--em-iters 0", "--em-temp-final 0", "--em-temp-final 2"} do
      local c, o = H.run(("experiments/classify.lua --model em --data %s --limit 64 --epochs 1 %s --save %s/bad.tensors")
        :format(H.mnist(), bad, H.tmpdir()))
      assert.equal(2, c, bad .. ": " .. o)
      assert.truthy(o:find(bad:match("^(%-%-[%w-]+)"), 1, true), o)
      assert.is_nil(o:find("traceback", 1, true), o)
    end
  end)

  it("says where it looked when the data is missing", function()
    local code, out = H.run("experiments/classify.lua --data " .. dir .. "/nothing")
    assert.equal(1, code)
    assert.truthy(out:find("mnist not found", 1, true))
    assert.truthy(out:find(dir .. "/nothing", 1, true))
  end)

  it("trains on a small subset, writing metrics and a checkpoint", function()
    local code, out = H.run(("experiments/classify.lua --data %s --limit 600 --epochs 2 --batch 32 " ..
      "--routing-iters 2 --lr-schedule exp --lr 1e-3 --save %s/run/model.tensors"):format(H.mnist(), dir))
    assert.equal(0, code, out)
    assert.truthy(out:find("epoch 2", 1, true))
    local csv = H.read(dir .. "/run/metrics.csv")
    assert.truthy(csv:find("^epoch,loss,train_acc,test_acc"))
    local rows = {}
    for line in csv:gmatch("[^\n]+") do rows[#rows + 1] = line end
    assert.equal(3, #rows)
    -- 600 images are enough to beat chance (10%) by far (about 60% here; the
    -- synthetic digits take CapsNet an epoch to get going)
    local acc = tonumber(rows[3]:match("^2,[^,]+,[^,]+,([^,]+)"))
    assert.is_true(acc > 0.3, "test accuracy " .. tostring(acc))
    assert.is_true(H.exists(dir .. "/run/model.tensors"))
  end)
end)
