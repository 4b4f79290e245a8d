-- Checkpoints and resume: a run killed with SIGKILL mid-epoch and resumed
-- ends with the same parameters, bit for bit, as a run never interrupted.
local capsrun = require "capsrun"
local T = capsrun.native
local H = require "spec.helpers"

describe("checkpoint and resume", function()
  local dir
  setup(function() dir = H.tmpdir() end)
  teardown(function() H.rm_rf(dir) end)

  local function args(extra)
    return ("experiments/classify.lua --data %s --limit 192 --epochs 2 --batch 32 --threads 1 --seed 5 " ..
      "--routing-iters 2 %s"):format(H.mnist(), extra)
  end

  it("continues a SIGKILLed run to bit-identical parameters", function()
    local code, out = H.run(args("--save " .. dir .. "/straight/m.tensors"))
    assert.equal(0, code, out)

    local ck = dir .. "/killed/ck"
    -- killed at a mid-epoch checkpoint of the second epoch
    local state = H.run_killed_mid_epoch(args(("--save %s/killed/m.tensors --checkpoint %s --checkpoint-every 2")
      :format(dir, ck)), ck, dir .. "/killed.log")
    assert.truthy(state, "no mid-epoch checkpoint appeared")
    assert.is_false(H.exists(dir .. "/killed/m.tensors"), "the run finished before it was killed")

    local code2, out2 = H.run(("experiments/classify.lua --checkpoint %s --resume --threads 1"):format(ck))
    assert.equal(0, code2, out2)
    assert.truthy(out2:find("resumed from", 1, true))
    local ok, which = H.same_tensors(T.load_tensors(dir .. "/straight/m.tensors"), T.load_tensors(dir .. "/killed/m.tensors"))
    assert.is_true(ok, "parameters differ: " .. tostring(which))
    -- the metrics keep one row per epoch
    local rows = 0
    for _ in H.read(dir .. "/killed/metrics.csv"):gmatch("\n%d+,") do rows = rows + 1 end
    assert.equal(2, rows)
  end)

  it("refuses missing, corrupt and mismatched checkpoints with a message", function()
    local code, out = H.run(("experiments/classify.lua --checkpoint %s/none --resume"):format(dir))
    assert.equal(1, code)
    assert.truthy(out:find("cannot resume", 1, true))
    assert.equal(2, (H.run("experiments/classify.lua --resume")))
    H.write(dir .. "/junk", "CAPSTNS1 junk")
    local code3, out3 = H.run(("experiments/classify.lua --checkpoint %s/junk --resume"):format(dir))
    assert.equal(1, code3)
    assert.truthy(out3:find("cannot resume", 1, true))
    T.save_tensors(dir .. "/foreign", {meta = "format=something-else\n"})
    assert.error_matches(function() capsrun.checkpoint.load(dir .. "/foreign") end, "format 'something%-else'")
    T.save_tensors(dir .. "/badmeta", {meta = "format=capsrun-checkpoint-1\nepoch=-1\ndone=0\nadam_step=0\n"})
    assert.error_matches(function() capsrun.checkpoint.load(dir .. "/badmeta") end, "'epoch' must be")
  end)

  it("round-trips parameters, Adam state and the generator", function()
    local gen = T.generator(3)
    local model = capsrun.CapsNet.new{input = {1, 20, 20}, conv_channels = 4, primary_types = 2, gen = gen}
    local p, g = model:parameters()
    local opt = capsrun.optim.Adam.new(p, g)
    for _, t in ipairs(g) do t:uniform_(gen) end
    opt:step(); opt:step()
    local named = model:named_parameters()
    capsrun.checkpoint.save(dir .. "/rt", {named = named, optimizer = opt, gen = gen, epoch = 3, done = 64,
      order = gen:permutation(10), options = {batch = 32, dataset = "mnist"}})
    local expect = gen:uniform()
    local gen2 = T.generator(99)
    local model2 = capsrun.CapsNet.new{input = {1, 20, 20}, conv_channels = 4, primary_types = 2, gen = gen2}
    local p2, g2 = model2:parameters()
    local opt2 = capsrun.optim.Adam.new(p2, g2)
    local ck = capsrun.checkpoint.load(dir .. "/rt")
    local epoch, done, order = capsrun.checkpoint.restore(ck, model2:named_parameters(), opt2, gen2)
    assert.same({3, 64, 10}, {epoch, done, order:numel()})
    assert.equal(2, opt2.step_count)
    assert.equal("32", ck.options.batch)
    assert.equal(expect, gen2:uniform())
    for i = 1, #p do
      assert.equal(0, (p[i] - p2[i]):norm())
      assert.equal(0, (opt.m[i] - opt2.m[i]):norm())
      assert.equal(0, (opt.v[i] - opt2.v[i]):norm())
    end
    local small = capsrun.CapsNet.new{input = {1, 20, 20}, conv_channels = 2, primary_types = 2, gen = gen2}
    local ps, gs = small:parameters()
    assert.error_matches(function()
      capsrun.checkpoint.restore(ck, small:named_parameters(), capsrun.optim.Adam.new(ps, gs), gen2)
    end, "the run expects")
  end)

  it("removes temporary files that a killed write left behind", function()
    H.write(dir .. "/ck.tmp.a1B2c3", "partial")
    H.write(dir .. "/other.tmp.a1B2c3", "not ours")
    assert.equal(1, T.remove_stale_temps(dir .. "/ck"))
    assert.is_false(H.exists(dir .. "/ck.tmp.a1B2c3"))
    assert.is_true(H.exists(dir .. "/other.tmp.a1B2c3"))
  end)

  it("stops on a NaN loss, naming the step", function()
    local gen = capsrun.manual_seed(4)
    local model = capsrun.CapsNet.new{input = {1, 20, 20}, conv_channels = 4, primary_types = 2, gen = gen}
    local clf = capsrun.train.classifier(model)
    local p, g = model:parameters()
    local opt = capsrun.optim.Adam.new(p, g)
    model.digitcaps.weight:fill_(0 / 0)
    local set = {images = T.zeros(4, 1, 20, 20), labels = T.new{0, 1, 2, 3}, n = 4}
    assert.error_matches(function() capsrun.train.epoch(clf, opt, set, {batch = 2}) end,
      "loss is .*nan at step 1")
  end)
end)
