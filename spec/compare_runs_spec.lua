-- experiments/compare_runs.lua: several runs' metrics in one figure, and
-- its refusals (a missing column names the run and the columns it has).
local capsrun = require "capsrun"
local H = require "spec.helpers"

describe("experiments/compare_runs.lua", function()
  local dir
  setup(function()
    dir = H.tmpdir()
    H.write(dir .. "/a.csv", "epoch,loss,test_acc,probe_acc\n1,2.5,0.2,0.3\n2,2.1,0.25,0.45\n3,1.9,0.3,0.5\n")
    H.write(dir .. "/b.csv", "epoch,loss,test_acc,probe_acc\n1,2.4,0.22,nan\n2,2.0,0.31,0.52\n")
  end)
  teardown(function() H.rm_rf(dir) end)

  it("draws one panel per column, each run a curve, against steps, with a reference line", function()
    local code, out = H.run(("experiments/compare_runs.lua --columns test_acc,probe_acc,loss --steps-per-epoch 469 "
      .. "--line '98.7=paper' --out %s/c.png first=%s/a.csv second=%s/b.csv"):format(dir, dir, dir))
    assert.equal(0, code, out)
    assert.truthy(out:find("2 runs, 3 panels", 1, true), out)
    local img = capsrun.read_png(dir .. "/c.png", 3)
    assert.same({3, 380, 3 * 520}, img:size())
  end)

  it("leaves a run without a column out of that panel only (a metric added later)", function()
    H.write(dir .. "/c.csv", "epoch,loss,test_acc,probe_acc,posterior_acc\n1,2.3,0.3,0.4,0.5\n2,2.0,0.4,0.5,0.6\n")
    local code, out = H.run(("experiments/compare_runs.lua --columns test_acc,posterior_acc --out %s/p.png first=%s/a.csv "
      .. "third=%s/c.csv"):format(dir, dir, dir))
    assert.equal(0, code, out)
    assert.truthy(out:find("run first (" .. dir .. "/a.csv) has no column posterior_acc: left out of that panel", 1,
      true), out)
    assert.truthy(out:find("2 runs, 2 panels", 1, true), out)
    assert.same({3, 380, 2 * 520}, capsrun.read_png(dir .. "/p.png", 3):size())
  end)

  it("refuses a column no run has, a malformed run, a missing file and a malformed line", function()
    local code, out = H.run(("experiments/compare_runs.lua --columns probe_acc,recon first=%s/a.csv --out %s/x.png")
      :format(dir, dir))
    assert.equal(1, code)
    assert.truthy(out:find("no run has the column recon; run first (" .. dir .. "/a.csv) has: epoch, loss, test_acc, "
      .. "probe_acc", 1, true), out)
    code, out = H.run("experiments/compare_runs.lua justapath.csv")
    assert.equal(2, code)
    assert.truthy(out:find("NAME=METRICS.csv expected", 1, true), out)
    code, out = H.run("experiments/compare_runs.lua x=" .. dir .. "/none.csv")
    assert.equal(1, code)
    assert.truthy(out:find("run x: ", 1, true), out)
    code, out = H.run(("experiments/compare_runs.lua --line paper a=%s/a.csv"):format(dir))
    assert.equal(2, code)
    assert.truthy(out:find("VALUE=LABEL expected", 1, true), out)
    assert.is_false(H.exists(dir .. "/x.png"))
  end)
end)
