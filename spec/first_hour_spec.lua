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
end)
