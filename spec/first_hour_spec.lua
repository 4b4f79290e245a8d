-- A newcomer's first hour (issue 26): the stops a user meets on small or odd
-- data are one-line messages, never a traceback; identical runs write
-- identical files. Each case failed on main before its fix.
local capsrun = require "capsrun"
local T = capsrun.native
local H = require "spec.helpers"

-- DIR/{train,test}/{a,b,c}/<i>.png, n grey 16x16 images per class
local function shapes(dir, n)
  for _, split in ipairs{"train", "test"} do
    for c, name in ipairs{"a", "b", "c"} do
      local d = ("%s/%s/%s"):format(dir, split, name)
      assert(os.execute("mkdir -p '" .. d .. "'"))
      for i = 1, n do T.write_png_grid(("%s/%d.png"):format(d, i), T.zeros(16, 16):fill_(c / 4 + i / 100), {spacing = 0}) end
    end
  end
end

describe("the first hour", function()
  local dir
  setup(function() dir = H.tmpdir(); shapes(dir .. "/shapes", 2) end)
  teardown(function() H.rm_rf(dir) end)

  it("says an input is too small for the model's kernel in one line", function()
    local code, out = H.run("experiments/classify.lua --data " .. dir .. "/shapes --resize 8x8")
    assert.equal(1, code, out)
    assert.truthy(out:find("conv1 layer needs inputs of at least 9x9 pixels, got 8x8", 1, true), out)
    assert.is_nil(out:find("traceback", 1, true), out)
    assert.is_nil(out:find("nil value", 1, true), out)
  end)

  it("says a model that does not fit in memory needs what, and what to change", function()
    local code, out = H.run("experiments/classify.lua --data " .. dir .. "/shapes --resize 512x512")
    assert.equal(1, code, out)
    assert.truthy(out:find("GiB", 1, true), out)
    assert.truthy(out:find("Change:", 1, true), out)
    assert.is_nil(out:find("traceback", 1, true), out)
  end)

  it("writes identical weights files for identical runs, config lines in a fixed order", function()
    local sums = {}
    for run = 1, 3 do
      local code, out = H.run(("experiments/classify.lua --data %s --limit 64 --epochs 1 --conv-channels 8 "
        .. "--primary-types 2 --routing-iters 1 --save %s/same%d/m.tensors"):format(H.mnist(), dir, run))
      assert.equal(0, code, out)
      sums[run] = T.sha256_file(("%s/same%d/m.tensors"):format(dir, run))
    end
    assert.equal(sums[1], sums[2]); assert.equal(sums[1], sums[3])
    -- many extra keys: pairs() order would not come out sorted
    local m = capsrun.CapsNet.new{input = {1, 12, 12}, conv_channels = 2, conv_kernel = 3, primary_types = 1,
      primary_kernel = 3, primary_stride = 2, classes = 2, gen = T.generator(1)}
    local extra = {}
    for c in ("zyxwvutsrqponm"):gmatch(".") do extra[c] = c end
    capsrun.train.save(m, dir .. "/keys.tensors", extra)
    local text, keys = T.load_tensors(dir .. "/keys.tensors").config, {}
    for k in text:gmatch("\n(%l)=") do keys[#keys + 1] = k end
    assert.equal("mnopqrstuvwxyz", table.concat(keys))
  end)

  it("MultiMNIST follows --limit, prints the machine lines and offers only options it uses", function()
    local code, out = H.run(("experiments/multimnist.lua --data %s --limit 48 --epochs 1 --batch 16 --conv-channels 8 "
      .. "--primary-types 2 --routing-iters 1 --save %s/mm/m.tensors"):format(H.mnist(), dir))
    assert.equal(0, code, out)
    assert.truthy(out:find("48 pairs per epoch from 48 training digits, 8 test pairs", 1, true), out)
    assert.truthy(out:find("convolution GEMMs in", 1, true), out)
    local _, help = H.run("experiments/multimnist.lua --help")
    for _, unused in ipairs{"--shift", "--flip", "--resize"} do assert.is_nil(help:find(unused, 1, true), help) end
    assert.truthy(help:find("--limit", 1, true), help)
  end)

  it("warms up for at least min(100, 30%) of a short run's steps; MNIST keeps its 5%", function()
    local experiment = require "capsrun.experiment"
    assert.equal(13, experiment.warmup_steps(0.05, 45))     -- 3 epochs of 150 images per class, 3 classes
    assert.equal(187, experiment.warmup_steps(0.05, 3750))  -- MNIST, 2 epochs at batch 32: unchanged
    assert.equal(100, experiment.warmup_steps(0.05, 1000))
    assert.equal(0, experiment.warmup_steps(0, 45))
  end)

  it("warns in plain words when the loss jumps or an epoch predicts one class for every image", function()
    local experiment = require "capsrun.experiment"
    local said = {}
    local warn = experiment.warn
    experiment.warn = function(text) said[#said + 1] = text end
    local watch = experiment.loss_watch({lr = 2e-3})
    local opt = {step_count = 2, current_lr = function() return 2e-4 end}
    watch(2.28, opt); watch(2.1, opt); watch(47.25, opt); watch(60, opt)
    experiment.warn_one_class({[1] = 5, [2] = 5}, {n = 10, classes = 3}, 1, {lr = 2e-3}, 10)
    experiment.warn_one_class({[2] = 10}, {n = 10, classes = 3, class_names = {"a", "b", "c"}}, 2, {lr = 2e-3}, 20)
    experiment.warn = warn
    assert.equal(2, #said)
    assert.truthy(said[1]:find("loss jumped from 2.1 to 47.25 at step 2", 1, true), said[1])
    assert.truthy(said[2]:find("every one of the 10 test images is predicted as class 'c'", 1, true), said[2])
    -- end to end: a run that collapses says so
    local code, out = H.run(("experiments/classify.lua --data %s/shapes --epochs 1 --batch 2 --lr 0.5 "
      .. "--conv-channels 8 --primary-types 2 --primary-kernel 3 --save %s/collapse/m.tensors"):format(dir, dir))
    assert.equal(0, code, out)
    assert.truthy(out:find("warning: after epoch 1 every one of the 6 test images is predicted as class", 1, true), out)
  end)

  it("writes progress lines into a log every --progress-every seconds, none with --quiet", function()
    local base = ("experiments/classify.lua --data %s --limit 200 --epochs 1 --batch 8 --conv-channels 8 "
      .. "--primary-types 2 --routing-iters 1 --save %s/progress/m.tensors"):format(H.mnist(), dir)
    local code, out = H.run(base .. " --progress-every 0.001")
    assert.equal(0, code, out)
    assert.truthy(out:find("\n  epoch 1: %d+/200 images, loss [%d.]+, [%d.]+ images/s, ETA %d+s\n"), out)
    local code2, out2 = H.run(base .. " --quiet --progress-every 0.001")
    assert.equal(0, code2, out2)
    assert.is_nil(out2:find("images, loss", 1, true), out2)
    assert.truthy(out2:find("epoch 1  loss", 1, true), out2)
  end)

  it("counts a resumed epoch's rate and ETA from the images trained since it resumed", function()
    local experiment = require "capsrun.experiment"
    local written, write = {}, io.write
    local show = experiment.progress(3, capsrun.native.wallclock() - 2, {progress_every = 0.001}, 1000)
    io.write = function(...) for _, s in ipairs{...} do written[#written + 1] = s end end   -- luacheck: ignore
    local ok, err = pcall(show, 2000, 4000, 1.5)
    io.write = write   -- luacheck: ignore
    assert(ok, err)
    local rate, eta = table.concat(written):match("epoch 3: 2000/4000 images, loss 1.5000, ([%d.]+) images/s, ETA (%d+)s")
    assert.truthy(rate, table.concat(written))
    -- 1,000 images in about 2 s, not the 2,000 of the epoch so far
    assert.is_true(tonumber(rate) > 400 and tonumber(rate) < 510, rate)
    assert.is_true(tonumber(eta) >= 3 and tonumber(eta) <= 5, eta)
  end)

  it("Ctrl-C during training says where the last checkpoint is and how to resume, with no traceback", function()
    local checkpoint = require "capsrun.checkpoint"
    local ck, log = dir .. "/int/ck", dir .. "/int.log"
    local p = io.popen(("%s experiments/classify.lua --data %s --limit 600 --epochs 3 --batch 8 --conv-channels 8 "
      .. "--primary-types 2 --routing-iters 1 --save %s/int/m.tensors --checkpoint %s --checkpoint-every 2 "
      .. "> %s 2>&1 & echo $!"):format(H.bin, H.mnist(), dir, ck, log))
    local pid = p:read("l"); p:close()
    for _ = 1, 1500 do
      if pcall(checkpoint.load, ck) then break end
      os.execute("sleep 0.02")
    end
    os.execute("kill -INT " .. pid)
    for _ = 1, 500 do   -- until the process has gone
      if not os.execute("kill -0 " .. pid .. " 2>/dev/null") then break end
      os.execute("sleep 0.02")
    end
    local out = H.read(log)
    assert.truthy(out:find("interrupted: the last checkpoint is " .. ck .. " %(epoch %d+, image %d+%); continue with: "
      .. "capsrun experiments/classify.lua %-%-checkpoint " .. ck .. " %-%-resume"), out)
    assert.is_nil(out:find("traceback", 1, true), out)
    -- and the resumed run finishes
    local code2, out2 = H.run(("experiments/classify.lua --checkpoint %s --resume"):format(ck))
    assert.equal(0, code2, out2)
    assert.truthy(out2:find("resumed from", 1, true), out2)
  end)
end)
