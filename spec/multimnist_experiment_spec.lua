-- experiments/multimnist.lua end to end on generated digits: trains on fresh
-- pairs, evaluates both-correct on fixed test pairs, resumes from its
-- checkpoint, writes the colour figure.
local capsrun = require "capsrun"
local H = require "spec.helpers"

describe("experiments/multimnist.lua", function()
  it("trains, reports both-correct and reconstruction error, resumes, and draws the figure", function()
    local dir = H.tmpdir()
    local base = ("experiments/multimnist.lua --data %s --limit 300 --train-pairs 32 --test-pairs 100 --batch 16 " ..
      "--routing-iters 1 --conv-channels 16 --primary-types 4 --precision f32 --save %s/m.tensors " ..
      "--checkpoint %s/ck"):format(H.mnist(), dir, dir)
    local code, out = H.run(base .. " --epochs 1")
    assert.equal(0, code, out)
    os.execute(("cp '%s/ck' '%s/ck-after-1'"):format(dir, dir))
    assert.truthy(out:find("epoch 1  loss [%d.]+  train both correct [%d.]+%%  test both correct [%d.]+%%  test recon mse 0%.%d+"), out)
    local code2, out2 = H.run(base .. " --epochs 2 --resume")
    assert.equal(0, code2, out2)
    assert.truthy(out2:find("resumed from .*: epoch 2, image 0"), out2)
    assert.truthy(out2:find("epoch 2 ", 1, true) and not out2:find("epoch 1 ", 1, true), out2)
    local fig = capsrun.read_png(dir .. "/multimnist.png", 3)
    assert.equal(3, fig:size(1))
    -- captioned: a title, and two lines (labels, picked classes) under each 108-pixel tile
    assert.truthy(fig:size(2) >= 6 + 24 + 108 + 2 * 14, table.concat(fig:size(), "x"))
    assert.truthy(out2:find("%d+ right and %d+ wrong test pairs in"), out2)
    assert.truthy(out2:find("curves in " .. dir .. "/curves.png", 1, true), out2)
    assert.same({360, 1350}, capsrun.read_png(dir .. "/curves.png"):size())   -- loss, both correct, reconstruction
    local csv = H.read(dir .. "/metrics.csv")
    assert.truthy(csv:find("^epoch,loss,train_acc,test_acc,test_loss,seconds,images_per_s,lr,train_recon_mse,test_recon_mse\n1,.*\n2,"), csv)
    -- resuming an older checkpoint rewrites its epochs instead of appending them twice; the
    -- checkpoint keeps the run's options, not the command line's own (--resume, --threads)
    local code3, out3 = H.run(("experiments/multimnist.lua --checkpoint %s/ck-after-1 --resume --epochs 2 --threads 1")
      :format(dir))
    assert.equal(0, code3, out3)
    local rows = 0
    for _ in H.read(dir .. "/metrics.csv"):gmatch("\n2,") do rows = rows + 1 end
    assert.equal(1, rows, H.read(dir .. "/metrics.csv"))
    local options = capsrun.checkpoint.load(dir .. "/ck-after-1").options
    assert.is_nil(options.resume); assert.is_nil(options.threads)
    assert.equal("32", options.train_pairs)
    H.rm_rf(dir)
  end)

  it("continues a run SIGKILLed mid-epoch (--checkpoint-every) to bit-identical parameters", function()
    local dir = H.tmpdir()
    local function args(extra)
      return ("experiments/multimnist.lua --data %s --limit 300 --train-pairs 160 --test-pairs 20 --batch 16 " ..
        "--epochs 2 --threads 1 --routing-iters 1 --precision f32 %s"):format(H.mnist(), extra)
    end
    local code, out = H.run(args("--save " .. dir .. "/straight/m.tensors"))
    assert.equal(0, code, out)
    local ck = dir .. "/killed/ck"
    local state = H.run_killed_mid_epoch(args(("--save %s/killed/m.tensors --checkpoint %s --checkpoint-every 1")
      :format(dir, ck)), ck, dir .. "/killed.log")
    assert.truthy(state, "no mid-epoch checkpoint appeared")
    assert.is_false(H.exists(dir .. "/killed/m.tensors"), "the run finished before it was killed")
    -- a checkpoint whose position falls inside a batch is refused, not resumed from the wrong pair
    local entries = capsrun.native.load_tensors(ck)
    entries.meta = entries.meta:gsub("done=(%d+)", function(d) return "done=" .. (tonumber(d) + 1) end)
    capsrun.native.save_tensors(dir .. "/odd", entries)
    local code3, out3 = H.run(("experiments/multimnist.lua --checkpoint %s/odd --resume --threads 1"):format(dir))
    assert.equal(1, code3, out3)
    assert.truthy(out3:find("cannot resume: .*odd stops after %d+ pairs, not a whole number of batches of 16"), out3)
    local code2, out2 = H.run(("experiments/multimnist.lua --checkpoint %s --resume --threads 1"):format(ck))
    assert.equal(0, code2, out2)
    assert.truthy(out2:find("resumed from .*: epoch 2, image %d+"), out2)
    local ok, which = H.same_tensors(capsrun.native.load_tensors(dir .. "/straight/m.tensors"),
      capsrun.native.load_tensors(dir .. "/killed/m.tensors"))
    assert.is_true(ok, "parameters differ: " .. tostring(which))
    H.rm_rf(dir)
  end)

  it("offers the models whose output fits: class capsules or logits, not EM activations", function()
    local code, out = H.run("experiments/multimnist.lua --model em --epochs 0")
    assert.equal(2, code, out)
    assert.truthy(out:find("capsnet, cnn, efficient", 1, true), out)
  end)

  it("trains the CNN baseline on the same pairs with sigmoid outputs", function()
    local dir = H.tmpdir()
    local code, out = H.run(("experiments/multimnist.lua --model cnn --data %s --limit 300 --train-pairs 32 " ..
      "--test-pairs 100 --batch 16 --epochs 1 --precision f32 --save %s/cnn.tensors"):format(H.mnist(), dir))
    assert.equal(0, code, out)
    assert.truthy(out:find("CNN baseline: %d+ parameters, sigmoid outputs"), out)
    assert.truthy(out:find("epoch 1  loss [%d.]+  train both correct [%d.]+%%  test both correct [%d.]+%%"), out)
    assert.is_nil(out:find("recon mse", 1, true))
    assert.same({360, 900}, capsrun.read_png(dir .. "/curves.png"):size())   -- loss and both correct only
    H.rm_rf(dir)
  end)
end)
