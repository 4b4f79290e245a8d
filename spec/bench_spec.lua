-- One-step smoke runs of the benchmarks (the figures are docs/performance.md's).
local H = require "spec.helpers"

describe("benchmarks", function()
  it("bench.lua times a training step and reports its figures", function()
    local code, out = H.run("bench/bench.lua --batches 2 --steps 1 --threads 1")
    assert.equal(0, code, out)
    assert.truthy(out:find("sgemm %(256 x 20736 x 2304%): [%d.]+ GFLOP/s"))
    assert.truthy(out:find("batch   2: train [%d.]+ images/s"))
    for _, part in ipairs({"conv1", "primary caps", "digit caps", "loss", "decoder", "optimiser"}) do
      assert.truthy(out:find(part .. " [%d.]+%%"), part)
    end
    assert.truthy(out:find("peak resident memory: %d+ MiB"))
  end)

  it("the PyTorch peer runs the same model", function()
    local python = os.getenv("CAPSRUN_PYTHON") or "/usr/bin/python3"
    if os.execute(python .. " -c 'import torch' >/dev/null 2>&1") ~= true then
      if os.getenv("CI") == "true" then error("python3-torch is required under CI") end
      return pending("no python3-torch")
    end
    local p = io.popen(python .. " bench/capsnet_torch.py bench 1 2 1 2>&1")
    local out = p:read("a")
    assert.is_true(p:close(), out)
    assert.truthy(out:find("batch   2: train [%d.]+ images/s"), out)
  end)

  it("the SCAE step runs on both sides of bench/scae_compare.sh, on the same parameters", function()
    local dir = H.tmpdir()
    local code, out = H.run(("bench/scae_bench.lua 1 2 1 %s/p.tensors"):format(dir))
    assert.equal(0, code, out)
    assert.truthy(out:find("capsrun SCAE step, batch 2, 1 threads: [%d.]+ ms"), out)
    if H.have_torch() then
      local p = io.popen(("%s bench/scae_torch.py 1 2 1 %s/p.tensors 2>&1"):format(H.python, dir))
      local theirs = p:read("a")
      assert.is_true(p:close(), theirs)
      assert.truthy(theirs:find("SCAE step, batch 2, 1 threads: [%d.]+ ms"), theirs)
    else
      assert.is_true(os.getenv("CI") ~= "true", "python3-torch is required under CI")
    end
    H.rm_rf(dir)
  end)
end)
