-- experiments/affine.lua end to end on generated digits: trains until its
-- target, reports the affine-set accuracy, writes the figure.
local capsrun = require "capsrun"
local H = require "spec.helpers"

describe("experiments/affine.lua", function()
  it("stops at the target and measures the affine set, for CapsNet, the CNN and the EM model", function()
    local dir = H.tmpdir()
    for _, model in ipairs{"capsnet", "cnn", "em"} do
      local code, out = H.run(("experiments/affine.lua --model %s --data %s --limit 96 --epochs 3 --batch 16 " ..
        "--routing-iters 1 --target 0 --precision f32 --conv-channels 16 --primary-types 4 --em-sizes 8,4,4,4 " ..
        "--em-iters 1 --save %s/%s/m.tensors")
        :format(model, H.mnist(), dir, model))
      assert.equal(0, code, out)
      assert.truthy(out:find("stopping after epoch 1: expanded-MNIST test accuracy reached 0.00%", 1, true), out)
      assert.truthy(out:find("affine test accuracy %d+%.%d%d%% %(" .. model .. "%)"), out)
      assert.same({2 * 80 + 3 * 2, 10 * 80 + 11 * 2}, capsrun.read_png(dir .. "/" .. model .. "/affine.png"):size())
      assert.truthy(out:find("0: label %d, predicted %d %(rotation [%+%-]%d+ deg"), out)
    end
    -- measuring saved weights only, with --epochs 0
    local code, out = H.run(("experiments/affine.lua --data %s --limit 96 --epochs 0 --routing-iters 1 " ..
      "--precision f32 --conv-channels 16 --primary-types 4 --load %s/capsnet/m.tensors --save %s/again/m.tensors")
      :format(H.mnist(), dir, dir))
    assert.equal(0, code, out)
    assert.truthy(out:find("expanded%-MNIST test accuracy %d+%.%d%d%%, affine test accuracy %d+%.%d%d%%"), out)
    H.rm_rf(dir)
  end)
end)
