-- Downloads over a loopback HTTP server only: never the internet.
local capsrun = require "capsrun"
local T = capsrun.native
local H = require "spec.helpers"

describe("download and SHA-256", function()
  local dir, served, port, pid

  setup(function()
    dir = H.tmpdir()
    served = dir .. "/www"
    assert(T.mkdir(served))
    H.write(served .. "/hello.txt", "hello capsrun\n")
    H.write(served .. "/train-images-idx3-ubyte.gz", "not the real file")
    port = 20000 + math.floor(T.wallclock() * 1000) % 20000
    local p = io.popen(("cd '%s' && (/usr/bin/python3 -m http.server %d --bind 127.0.0.1 >/dev/null 2>&1 & echo $!)")
      :format(served, port))
    pid = p:read("l"); p:close()
    -- wait until it answers
    for _ = 1, 100 do
      if pcall(T.download, ("http://127.0.0.1:%d/hello.txt"):format(port), dir .. "/probe") then break end
      os.execute("sleep 0.1")
    end
  end)

  teardown(function()
    if pid then os.execute("kill " .. pid) end
    H.rm_rf(dir)
  end)

  it("computes SHA-256 of files (FIPS 180-4 test vector)", function()
    H.write(dir .. "/abc", "abc")
    assert.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", T.sha256_file(dir .. "/abc"))
    H.write(dir .. "/empty", "")
    assert.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", T.sha256_file(dir .. "/empty"))
  end)

  it("downloads a file from a loopback server", function()
    local n = T.download(("http://127.0.0.1:%d/hello.txt"):format(port), dir .. "/got.txt")
    assert.equal(14, n)
    assert.equal("hello capsrun\n", H.read(dir .. "/got.txt"))
  end)

  it("fails cleanly on 404, refused connections and size limits, leaving no file", function()
    assert.error_matches(function() T.download(("http://127.0.0.1:%d/missing"):format(port), dir .. "/x") end, "404")
    assert.is_false(H.exists(dir .. "/x"))
    assert.has_error(function() T.download("http://127.0.0.1:1/none", dir .. "/y") end)
    assert.is_false(H.exists(dir .. "/y"))
    assert.error_matches(function() T.download(("http://127.0.0.1:%d/hello.txt"):format(port), dir .. "/z", 4) end,
      "larger than 4 bytes")
    assert.is_false(H.exists(dir .. "/z"))
  end)

  it("tools/download.lua refuses a file whose SHA-256 is not the canonical one", function()
    local code, out = H.run(("tools/download.lua mnist %s/mnist --base-url http://127.0.0.1:%d/"):format(dir, port))
    assert.equal(1, code)
    assert.truthy(out:find("SHA-256", 1, true))
    assert.is_false(H.exists(dir .. "/mnist/train-images-idx3-ubyte.gz"))
    assert.truthy(out:find("404", 1, true))   -- the other three are not served
  end)
end)
