-- Data-parallel training over MPI (mpirun on loopback). Skipped when capsrun
-- was built without MPI or mpirun is missing, except under CI.
local capsrun = require "capsrun"
local T = capsrun.native
local H = require "spec.helpers"

-- OpenMPI's dlopen'ed components leak by design at exit: under the
-- sanitizer build, leak checking is off inside mpirun (ASan stays on)
local MPIRUN = "env ASAN_OPTIONS=detect_leaks=0 mpirun --allow-run-as-root --oversubscribe -np 2 "

local function have_mpi()
  return capsrun.dist.available() and os.execute("command -v mpirun >/dev/null 2>&1") == true
end

-- every tensor of two weights files within 1e-5 relative (not the config text)
local function assert_close(a, b)
  for k, v in pairs(a) do
    if type(v) == "userdata" then
      local rel = (v - b[k]):norm() / v:norm()
      assert.is_true(rel < 1e-5, ("%s differs by %g"):format(k, rel))
    end
  end
end

describe("dist", function()
  local dir
  setup(function() dir = H.tmpdir() end)
  teardown(function() H.rm_rf(dir) end)
  local run = (have_mpi() or os.getenv("CI") == "true") and it or pending

  it("is a world of one process without mpirun", function()
    assert.equal(0, capsrun.dist.rank())
    assert.equal(1, capsrun.dist.size())
    local t = T.new{1, 2}
    capsrun.dist.allreduce_(t, "mean")
    assert.same({1, 2}, t:totable())
    assert.same({0, 10}, {capsrun.dist.shard(10)})
    assert.error_matches(function() capsrun.dist.broadcast_(t, 1) end, "root rank out of range")
  end)

  run("gives 2 ranks the parameters of 1 process, within 1e-5", function()
    assert.is_true(have_mpi(), "MPI is required under CI")
    local args = ("experiments/classify.lua --data %s --limit 160 --epochs 1 --batch 40 --seed 3 " ..
      "--routing-iters 2 --threads 1 --precision f32"):format(H.mnist())
    local code, out = H.run(args .. " --save " .. dir .. "/one/m.tensors")
    assert.equal(0, code, out)
    local p = io.popen(("%s%s %s --save %s/two/m.tensors 2>&1"):format(MPIRUN, H.bin, args, dir))
    local out2 = p:read("a")
    assert.is_true(p:close(), out2)
    local _, n = out2:gsub("epoch 1 ", "")
    assert.equal(1, n, "only rank 0 prints")
    local a, b = T.load_tensors(dir .. "/one/m.tensors"), T.load_tensors(dir .. "/two/m.tensors")
    assert_close(a, b)
  end)

  run("gives 2 ranks of multimnist.lua the parameters and the test figures of 1 process", function()
    assert.is_true(have_mpi(), "MPI is required under CI")
    local args = ("experiments/multimnist.lua --data %s --limit 300 --train-pairs 48 --test-pairs 50 --batch 24 " ..
      "--epochs 1 --routing-iters 1 --conv-channels 16 --primary-types 4 --threads 1 --precision f32"):format(H.mnist())
    local code, out = H.run(args .. " --save " .. dir .. "/mm1/m.tensors")
    assert.equal(0, code, out)
    local p = io.popen(("%s%s %s --save %s/mm2/m.tensors 2>&1"):format(MPIRUN, H.bin, args, dir))
    local out2 = p:read("a")
    assert.is_true(p:close(), out2)
    local _, n = out2:gsub("epoch 1 ", "")
    assert.equal(1, n, "only rank 0 prints")
    local both1 = out:match("test both correct ([%d.]+)%%")
    assert.equal(both1, out2:match("test both correct ([%d.]+)%%"), out .. out2)
    assert.equal(out:match("recon mse ([%d.]+)"), out2:match("recon mse ([%d.]+)"))
    assert_close(T.load_tensors(dir .. "/mm1/m.tensors"), T.load_tensors(dir .. "/mm2/m.tensors"))
    assert.truthy(capsrun.read_png(dir .. "/mm2/multimnist.png", 3))
  end)

  run("resumes a 2-rank checkpoint in 1 process, matching a straight run", function()
    local args = ("experiments/classify.lua --data %s --limit 160 --batch 40 --seed 3 --routing-iters 2 --threads 1 --precision f32 --lr-schedule exp ")
      :format(H.mnist())
    assert.equal(0, (H.run(args .. "--epochs 2 --save " .. dir .. "/s/m.tensors")))
    local p = io.popen(("%s%s %s --epochs 1 --save %s/r/m.tensors --checkpoint %s/r/ck 2>&1"):format(MPIRUN, H.bin,
      args, dir, dir))
    local out = p:read("a")
    assert.is_true(p:close(), out)
    local code, out2 = H.run(("experiments/classify.lua --checkpoint %s/r/ck --resume --epochs 2 --threads 1"):format(dir))
    assert.equal(0, code, out2)
    local a, b = T.load_tensors(dir .. "/s/m.tensors"), T.load_tensors(dir .. "/r/m.tensors")
    assert_close(a, b)
  end)

  run("gives 2 ranks of the stacked capsule autoencoder the parameters of 1 process (placements, noise and the "
    .. "batch-wide sparsity terms of the whole batch, shares of 8 and 7 images)", function()
    assert.is_true(have_mpi(), "MPI is required under CI")
    local args = ("experiments/scae.lua --data %s --limit 64 --batch 15 --epochs 1 --parts 4 --capsules 3 --maps 8 "
      .. "--eval-examples 10 --probe-examples 16 --threads 1 --precision f32 --embedding pca"):format(H.mnist())
    local code, out = H.run(args .. " --save " .. dir .. "/scae1/s.tensors")
    assert.equal(0, code, out)
    local p = io.popen(("%s%s %s --save %s/scae2/s.tensors 2>&1"):format(MPIRUN, H.bin, args, dir))
    local out2 = p:read("a")
    assert.is_true(p:close(), out2)
    local _, n = out2:gsub("epoch 1 ", "")
    assert.equal(1, n, "only rank 0 prints")
    local a, b = T.load_tensors(dir .. "/scae1/s.tensors"), T.load_tensors(dir .. "/scae2/s.tensors")
    assert.truthy(b.config:find("kind=scae", 1, true))
    -- and the training really moved the parameters (the comparison is not of two untouched models)
    local fresh = capsrun.scae.SCAE.new{parts = 4, capsules = 3, maps = 8, feed_templates = false,
      gen = capsrun.manual_seed(1)}
    local moved = 0
    for _, e in ipairs(fresh:named_parameters()) do moved = math.max(moved, (e.param - a[e.name]):norm()) end
    assert.is_true(moved > 1e-3, "the parameters did not move")
    -- biases whose gradient is zero in exact arithmetic (a softmax does not see them: the attention
    -- keys', the part attention logits', the last 4 of att.bias) get rounding noise, which Adam's
    -- first steps turn into +-lr moves of either sign; they are left out
    for _, t in ipairs{a, b} do
      t["pcae.head.att.bias"] = t["pcae.head.att.bias"]:narrow(1, 4 * 23)
      for k in pairs(t) do if k:match("%.k%.bias$") then t[k] = nil end end
    end
    assert_close(a, b)
  end)

  run("skips a stacked-autoencoder batch smaller than the ranks (its forward is collective) instead of hanging", function()
    assert.is_true(have_mpi(), "MPI is required under CI")
    local p = io.popen(("timeout 120 %s%s experiments/scae.lua --data %s --limit 16 --batch 15 --epochs 1 --parts 4 "
      .. "--capsules 3 --maps 8 --eval-examples 10 --probe-examples 16 --threads 1 --embedding pca --save %s/scae3/s.tensors "
      .. "2>&1"):format(MPIRUN, H.bin, H.mnist(), dir))
    local out = p:read("a")
    assert.is_true(p:close(), out)   -- batches of 15 and 1: the second is skipped on both ranks
    assert.truthy(out:find("epoch 1 ", 1, true), out)
  end)

  run("all-reduces and broadcasts across ranks", function()
    local p = io.popen(MPIRUN .. H.bin .. [[ -e 'local d = capsrun.dist
      local t = capsrun.ones(3):mul_(d.rank() + 1); d.allreduce_(t, "sum")
      local b = capsrun.ones(2):mul_(d.rank() + 5); d.broadcast_(b, 1)
      local g = {capsrun.ones(2):mul_(d.rank()), capsrun.ones(3):mul_(2 * d.rank())}
      d.allreduce_grads_(g, "mean")
      print(d.rank(), t:sum(), b:sum(), g[1]:sum(), g[2]:sum())' 2>&1]])
    local out = p:read("a")
    assert.is_true(p:close(), out)
    assert.truthy(out:find("0\t9.0\t12.0\t1.0\t3.0", 1, true), out)
    assert.truthy(out:find("1\t9.0\t12.0\t1.0\t3.0", 1, true), out)
  end)

  run("stops every rank in bounded time when one dies", function()
    local marker = dir .. "/victim"
    local p = io.popen(("(%s%s experiments/classify.lua --data %s --limit 3000 --epochs 5 --threads 1 " ..
      "--save %s/m.tensors > %s/mpirun.log 2>&1; echo $? > %s/rc) & echo $!"):format(MPIRUN, H.bin, H.mnist(),
      marker, dir, dir))
    p:read("l"); p:close()
    local ranks
    for _ = 1, 200 do                         -- the two capsrun processes of this job
      local q = io.popen("pgrep -f 'victim/m.tensors'")
      ranks = {}
      for pid in q:lines() do
        if (H.read("/proc/" .. pid .. "/comm") or ""):match("^capsrun") then ranks[#ranks + 1] = pid end
      end
      q:close()
      if #ranks >= 2 then break end
      os.execute("sleep 0.1")
    end
    assert.equal(2, #ranks)
    os.execute("sleep 3")
    os.execute("kill -9 " .. ranks[2])
    local t0 = T.wallclock()
    while not H.exists(dir .. "/rc") and T.wallclock() - t0 < 60 do os.execute("sleep 0.2") end
    local waited = T.wallclock() - t0
    assert.is_true(H.exists(dir .. "/rc"), "the job still runs 60 s after a rank died")
    assert.is_true(waited < 30, ("the job took %.1f s to stop"):format(waited))
    assert.are_not.equal("0", H.read(dir .. "/rc"):match("%d+"))
    assert.is_false(H.exists(marker .. "/m.tensors"))
  end)
end)
