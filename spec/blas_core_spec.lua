-- The OpenBLAS core: never OpenBLAS's generic kernels on a CPU with AVX2 or
-- AVX-512 unless the user asked for them, and a user's OPENBLAS_CORETYPE wins.
-- libgomp's spinning: GOMP_SPINCOUNT=1000 unless the user chose.
local H = require "spec.helpers"
local native = capsrun.native

local function version(env)
  local code, out = H.run_env(env, "-v")
  assert.equal(0, code, out)
  local core, origin = out:match("core (%S+) %(([^)]*)%)")
  assert.truthy(core, "no core in: " .. out)
  return core, origin, out
end

describe("BLAS core", function()
  local info = native.blas_info()
  local modern_cpu = info.isa:find("AVX-512", 1, true) or info.isa:find("AVX2", 1, true)

  it("names the core, its threads and the ISA", function()
    assert.truthy(info.core ~= "" and info.isa ~= "")
    assert.truthy(info.threads >= 1)
    assert.truthy(info.description:find(info.core, 1, true))
    local _, _, out = version("")
    assert.truthy(out:find("threads; CPU: ", 1, true), out)
  end)

  it("is not generic on a CPU with AVX2 or AVX-512", function()
    if not modern_cpu then return end   -- nothing better exists on this CPU
    assert.is_true(info.modern, info.description)
    local core = version("")
    assert.truthy(core == "Haswell" or core == "Zen" or core == "SkylakeX" or core == "Cooperlake"
      or core == "SapphireRapids", core)
  end)

  it("replaces a generic core that OpenBLAS picked by itself", function()
    if not modern_cpu then return end
    local core, origin = version("OPENBLAS_CORETYPE=Prescott CAPSRUN_BLAS_SIMULATE_FALLBACK=1")
    local want = info.isa:find("AVX-512", 1, true) and "SkylakeX" or "Haswell"
    if info.isa:find("AVX-512", 1, true) == nil and info.description:find("Zen") then want = "Zen" end
    assert.equal(want, core)
    assert.equal("chosen by capsrun: OpenBLAS picked Prescott", origin)
  end)

  it("leaves no core variable behind for the processes it starts", function()
    local code, out = H.run_env("OPENBLAS_CORETYPE=Prescott CAPSRUN_BLAS_SIMULATE_FALLBACK=1",
      "-e 'print(os.getenv(\"OPENBLAS_CORETYPE\"), os.getenv(\"CAPSRUN_BLAS_FALLBACK\"))'")
    assert.equal(0, code)
    assert.equal("nil\tnil\n", out)
  end)

  it("respects an explicit OPENBLAS_CORETYPE, even a generic one, and names a wider core", function()
    local avx512 = info.isa:find("AVX-512", 1, true) ~= nil
    local core, origin = version("OPENBLAS_CORETYPE=Haswell")
    assert.equal("Haswell", core)
    assert.equal(avx512 and "set by OPENBLAS_CORETYPE; this CPU could run SkylakeX" or "set by OPENBLAS_CORETYPE",
      origin)
    core, origin = version("OPENBLAS_CORETYPE=Prescott")
    assert.equal("Prescott", core)
    if modern_cpu then
      assert.truthy(origin:match("^set by OPENBLAS_CORETYPE; this CPU could run %a+$"), origin)
    else
      assert.equal("set by OPENBLAS_CORETYPE", origin)
    end
    if avx512 then
      core, origin = version("OPENBLAS_CORETYPE=SkylakeX")
      assert.equal("SkylakeX", core)
      assert.equal("set by OPENBLAS_CORETYPE", origin)
    end
  end)
end)

describe("OpenMP spinning", function()
  local show = "-e 'print(os.getenv(\"GOMP_SPINCOUNT\"))'"
  it("runs with GOMP_SPINCOUNT=1000 (set before libgomp reads it: capsrun restarts once)", function()
    local code, out = H.run_env("-u GOMP_SPINCOUNT -u OMP_WAIT_POLICY", show)
    assert.equal(0, code, out)
    assert.equal("1000\n", out)
    -- together with the BLAS core's restart: one more, not two, and both settings hold
    code, out = H.run_env("-u GOMP_SPINCOUNT OPENBLAS_CORETYPE=Prescott CAPSRUN_BLAS_SIMULATE_FALLBACK=1",
      "-v " .. show)
    assert.equal(0, code, out)
    assert.truthy(out:find("chosen by capsrun: OpenBLAS picked Prescott", 1, true), out)
    assert.truthy(out:find("\n1000\n", 1, true), out)
  end)

  it("leaves a user's GOMP_SPINCOUNT or OMP_WAIT_POLICY alone", function()
    local code, out = H.run_env("GOMP_SPINCOUNT=7", show)
    assert.equal(0, code, out)
    assert.equal("7\n", out)
    code, out = H.run_env("-u GOMP_SPINCOUNT OMP_WAIT_POLICY=passive", show)
    assert.equal(0, code, out)
    assert.equal("nil\n", out)
  end)
end)
