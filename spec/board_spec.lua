-- capsrun board's server, without a browser: safe paths, JSON, the runs
-- folder read while a run writes, and the HTTP API under hostile requests
-- (paths out of the root, bad JSON, wrong methods, oversized bodies),
-- against a board started on runs trained here in seconds.
local capsrun = require "capsrun"
local H = require "spec.helpers"
local T = capsrun.native
local json = require "capsrun.json"
local runs = require "capsrun.board.runs"

describe("board: safe paths", function()
  local dir
  setup(function()
    dir = H.tmpdir()
    os.execute(("mkdir -p %s/root/run && echo x > %s/root/run/a.png && echo secret > %s/outside.txt"):format(dir, dir, dir))
    os.execute(("ln -s %s/outside.txt %s/root/run/link.png && ln -s /etc %s/root/etc"):format(dir, dir, dir))
  end)
  teardown(function() H.rm_rf(dir) end)

  it("resolves plain names under the root and refuses every way out", function()
    local root = dir .. "/root"
    assert.truthy(T.safe_path(root, "run/a.png"):match("/root/run/a%.png$"))
    assert.truthy(T.safe_path(root, "/run/a.png"))
    for _, bad in ipairs{"../outside.txt", "run/../../outside.txt", "/../outside.txt", "run//a.png", "./run/a.png",
                         "run\\a.png", "run/a.png\0", "", "/", "run/link.png", "etc/passwd", ("a/"):rep(17) .. "b"} do
      local p, why = T.safe_path(root, bad)
      assert.is_nil(p, bad)
      assert.equal(bad == "run/link.png" and "refused" or (bad == "etc/passwd" and "refused" or "refused"), why, bad)
    end
    assert.same({nil, "missing"}, {T.safe_path(root, "run/none.png")})
    assert.has_error(function() T.safe_path(root) end)
  end)
end)

describe("board: JSON", function()
  it("encodes what the API sends and decodes strictly", function()
    assert.equal('{"a":[1,2.5,null],"b":"q\\"\\n","c":[],"d":{}}',
      json.encode({a = {1, 2.5, 0 / 0}, b = 'q"\n', c = json.array{}, d = {}}))
    local t = json.decode(' {"x": [1, -2.5e3, true, false, "\\u00e9"], "y": {"z": null}} ')
    assert.same({1, -2500.0, true, false, "é"}, {t.x[1], t.x[2], t.x[3], t.x[4], t.x[5]})
    for text, where in pairs{["{"] = "position 2", ["[1,]"] = "a value expected at position 4", ['{"a" 1}'] = "':' expected",
                             ["[1] 2"] = "the end of the text expected", ['"abc'] = "a closing quote", [""] = "position 1",
                             [("["):rep(70)] = "deeper than 64", ['"\\q"'] = "an escape"} do
      local ok, err = pcall(json.decode, text)
      assert.is_false(ok)
      assert.truthy(err:find(where, 1, true), err)
    end
    assert.error_matches(function() json.encode({[1.5] = 1, x = 2}) end, "keys must be strings")
  end)
end)

describe("board: the runs folder", function()
  it("reads a metrics CSV up to its last complete row, never a torn one", function()
    local dir = H.tmpdir()
    H.write(dir .. "/m.csv", "epoch,loss,test_acc\n1,0.5,0.9\n2,0.4,0.9")
    local columns, rows = runs.read_metrics(dir .. "/m.csv")
    assert.same({"epoch", "loss", "test_acc"}, columns)
    assert.same({{1, 0.5, 0.9}}, rows)
    H.write(dir .. "/m.csv", "epoch,loss,test_acc\n1,0.5,0.9\n2,0.4,0.9\n3,nan,0.8\n")
    rows = select(2, runs.read_metrics(dir .. "/m.csv"))
    assert.equal(3, #rows)
    assert.is_true(rows[3][2] ~= rows[3][2])   -- nan: a number, so that every row has every column
    H.write(dir .. "/none.csv", "epoch,lo")
    assert.is_nil((runs.read_metrics(dir .. "/none.csv")))
    H.rm_rf(dir)
  end)
end)

describe("board: the server", function()
  local dir, url, pid
  setup(function()
    dir = H.tmpdir()
    local code, out = H.run(("experiments/reconstruct.lua --data %s --limit 96 --epochs 1 --batch 16 --conv-channels 8 " ..
      "--primary-types 2 --routing-iters 2 --precision f32 --save %s/runs/ae/capsnet.tensors --checkpoint %s/runs/ae/ck")
      :format(H.mnist(), dir, dir))
    assert.equal(0, code, out)
    code, out = H.run(("experiments/classify.lua --model em --em-sizes 4,2,2,2 --em-iters 1 --data %s --limit 32 " ..
      "--epochs 1 --batch 16 --precision f32 --save %s/runs/em/em.tensors"):format(H.mnist(), dir))
    assert.equal(0, code, out)
    os.execute(("mkdir -p %s/runs/cnn && cp %s/runs/ae/metrics.csv %s/runs/cnn/ && echo secret > %s/secret.txt && " ..
      "ln -s %s/secret.txt %s/runs/ae/leak.png && ln -s %s %s/runs/up"):format(dir, dir, dir, dir, dir, dir, dir, dir))
    url, pid = H.start_board(("%s/runs --data %s --seconds 120"):format(dir, H.mnist()), dir .. "/board.log")
    assert.truthy(url, H.exists(dir .. "/board.log") and H.read(dir .. "/board.log"))
  end)
  teardown(function()
    if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
    H.rm_rf(dir)
  end)

  local function get(path, method, body) return T.http_fetch(url .. path:gsub("^/", ""), method, body) end

  it("lists the runs with their rows, figures and weights, and serves their figures", function()
    local code, body, ctype = get("/api/runs")
    assert.equal(200, code, body)
    assert.truthy(ctype:find("application/json", 1, true))
    local t = json.decode(body)
    local ids = {}
    for _, r in ipairs(t.runs) do ids[#ids + 1] = r.id end
    assert.same({"ae", "cnn", "em"}, ids)   -- not "up": a symlink out of the folder
    assert.equal(1, #t.runs[1].rows)
    assert.same({"capsnet.tensors"}, t.runs[1].weights)
    assert.same({"capsnet, mnist, 1x28x28, 2 routing iterations, decoder"}, t.runs[1].models)   -- from its config
    assert.equal("16", t.runs[1].options.batch)                 -- from its checkpoint
    assert.equal("2", t.runs[1].options.routing_iters)
    assert.is_nil(t.runs[2].options)                            -- none beside the other run's CSV
    local code2, png, ptype = get("/runs/ae/curves.png")
    assert.equal(200, code2)
    assert.equal("image/png", ptype)
    assert.equal("\137PNG", png:sub(1, 4))
    local code3, page = get("/")
    assert.equal(200, code3)
    assert.truthy(page:find("capsrun board", 1, true))
    assert.equal(200, (get("/static/board.js")))
  end)

  it("serves nothing outside the runs folder and the page's own files", function()
    for path, want in pairs{
      ["/runs/../secret.txt"] = {403, 404}, ["/runs/%2e%2e/secret.txt"] = {403, 404}, ["/runs/ae/../../secret.txt"] = {403, 404},
      ["/runs/ae/leak.png"] = {403}, ["/runs/up/secret.txt"] = {403}, ["/runs//etc/passwd"] = {403},
      ["/runs/ae/capsnet.tensors"] = {403}, ["/static/../../../README.md"] = {403, 404},
      ["/static/%2e%2e/server.lua"] = {403, 404}, ["/etc/passwd"] = {404}, ["/runs/ae/none.png"] = {404}} do
      local code, body = get(path)
      assert.truthy(code == want[1] or code == want[2], ("%s: %d %s"):format(path, code, body))
      assert.is_nil(body:find("secret", 1, true), path)
    end
  end)

  it("answers malformed requests with a 4xx and a message, never a crash", function()
    local cases = {
      {"/api/explore", "POST", "{not json", 400, "json: "},
      {"/api/explore", "POST", "[1, 2]", 400, "id: a weights file"},
      {"/api/explore", "POST", '{"id": "ae/capsnet.tensors", "h": 28, "w": 28, "pixels": [1, 2]}', 400, "784 numbers"},
      {"/api/explore", "POST", '{"id": "ae/capsnet.tensors", "index": 99999}', 400, "index: an integer in"},
      {"/api/explore", "POST", '{"id": "../secret.tensors", "index": 0}', 403, "refused"},
      {"/api/explore", "POST", '{"id": "cnn/none.tensors", "index": 0}', 404, "no such weights file"},
      {"/api/explore", "GET", nil, 405, "takes POST"},
      {"/api/runs", "DELETE", nil, 405, "only GET and POST"},
      {"/api/reconstruct", "POST", '{"id": "ae/capsnet.tensors", "class": 12, "capsule": []}', 400, "class must be"},
      {"/api/reconstruct", "POST", '{"id": "ae/capsnet.tensors", "class": 1, "capsule": [1]}', 400, "list of 16 numbers"},
      {"/api/model", "GET", nil, 400, "id: a weights file"},
      {"/api/explore", "POST", ("x"):rep(5 * 1024 * 1024), 413, "larger than"},
    }
    for _, c in ipairs(cases) do
      local code, body = get(c[1], c[2], c[3])
      assert.equal(c[4], code, c[1] .. " " .. body)
      assert.truthy(body:find(c[5], 1, true), body)
    end
    assert.equal(200, (get("/api/runs")))   -- still up
  end)

  it("explores a test image and redraws the reconstruction from a capsule", function()
    local code, body = get("/api/explore", "POST", '{"id": "ae/capsnet.tensors", "index": 3}')
    assert.equal(200, code, body)
    local r = json.decode(body)
    assert.equal(10, #r.lengths)
    assert.equal(784, #r.input)
    assert.equal(784, #r.reconstruction)
    assert.equal(2, r.coupling.iterations)
    assert.equal(2 * 6 * 6, r.coupling.types * r.coupling.h * r.coupling.w)
    -- the coupling maps of one iteration sum to 1 over the classes at each position (softmax over parents)
    for p = 1, 36 do
      local s = 0
      for j = 1, 10 do s = s + r.coupling.maps[1][j][p] end
      assert.near(1, s, 1e-4)
    end
    -- the explorer agrees with the model itself
    local model, decoder = capsrun.load(dir .. "/runs/ae/capsnet.tensors")
    model:evaluate()
    local set = capsrun.data.load("mnist", "test", {dir = H.mnist()})
    local v = model:forward(set.images:narrow(4, 1))
    for j = 1, 10 do assert.near(v:narrow(1, 1):reshape(10, 16):narrow(j, 1):norm(), r.lengths[j], 1e-5) end
    local codet, bodyt = get("/api/test_image?id=ae/capsnet.tensors&index=3")
    assert.equal(200, codet, bodyt)
    local timg = json.decode(bodyt)
    assert.equal(784, #timg.pixels)
    assert.equal(math.tointeger(set.labels:get(4)), timg.label)
    assert.near(set.images:narrow(4, 1):reshape(784):get(300), timg.pixels[300], 1e-6)
    local capsule = r.capsules[r.predicted + 1]
    capsule[1] = capsule[1] + 0.25
    local code2, body2 = get("/api/reconstruct", "POST", json.encode({id = "ae/capsnet.tensors", class = r.predicted,
      capsule = capsule}))
    assert.equal(200, code2, body2)
    local pixels = json.decode(body2).pixels
    local x = T.zeros(1, 10, 16)
    for d = 1, 16 do x:set(1, r.predicted + 1, d, capsule[d]) end
    local want = decoder:forward(x, T.new{r.predicted})
    for k = 1, 784, 37 do assert.near(want:reshape(784):get(k), pixels[k], 1e-5) end
    -- a drawn image: pixels of any size, fitted as MNIST was
    local drawn = {}
    for k = 1, 56 * 56 do drawn[k] = (k % 56 > 20 and k % 56 < 30) and 1 or 0 end
    local code3, body3 = get("/api/explore", "POST", json.encode({id = "ae/capsnet.tensors", h = 56, w = 56,
      pixels = drawn, digits = true}))
    assert.equal(200, code3, body3)
    assert.truthy(json.decode(body3).note:find("MNIST preprocessing", 1, true))
  end)

  it("explores an EM model: class activations and 4x4 poses, no routing map, no decoder", function()
    local code, body = get("/api/explore", "POST", '{"id": "em/em.tensors", "index": 1}')
    assert.equal(200, code, body)
    local r = json.decode(body)
    assert.equal(10, #r.activations)
    assert.equal(10, #r.poses)
    assert.equal(16, #r.poses[1])
    assert.is_nil(r.coupling)
    assert.is_nil(r.reconstruction)
    local model = capsrun.load(dir .. "/runs/em/em.tensors")
    model:evaluate()
    local set = capsrun.data.load("mnist", "test", {dir = H.mnist(), limit = 4})
    local out = model:forward(set.images:narrow(2, 1)):reshape(10, 17)
    for j = 1, 10 do assert.near(out:get(j, 17), r.activations[j], 1e-5) end
    local code2, body2 = get("/api/reconstruct", "POST", '{"id": "em/em.tensors", "class": 1, "capsule": []}')
    assert.equal(400, code2)
    assert.truthy(body2:find("has no decoder", 1, true), body2)
  end)

  it("keeps its memory bounded with 50 runs, however many models are explored", function()
    for k = 1, 50 do   -- hard links: 50 runs' weights files, one copy on disk
      os.execute(("mkdir -p %s/runs/m%02d && ln %s/runs/ae/capsnet.tensors %s/runs/m%02d/ && cp %s/runs/ae/metrics.csv %s/runs/m%02d/")
        :format(dir, k, dir, dir, k, dir, dir, k))
    end
    local function rss()
      local f = io.open("/proc/" .. pid .. "/status")
      if not f then return nil end
      local kb = f:read("a"):match("VmRSS:%s+(%d+)")
      f:close()
      return tonumber(kb)
    end
    local function explore(first, last)
      for k = first, last do
        assert.equal(200, (get(("/api/explore"), "POST", ('{"id": "m%02d/capsnet.tensors", "index": 0}'):format(k))))
      end
      return rss()
    end
    explore(1, 4)
    local after12 = explore(5, 12)
    local after50 = explore(13, 50)
    assert.equal(53, #json.decode((select(2, get("/api/runs")))).runs)
    if after12 and not H.asan then   -- under ASan freed memory stays resident in its quarantine
      -- three models stay loaded: 38 more add less than one model's worth
      local model_kb = T.file_info(dir .. "/runs/ae/capsnet.tensors").size // 1024
      assert.truthy(after50 - after12 < model_kb, ("%d kB -> %d kB, %d kB a model"):format(after12, after50, model_kb))
    end
  end)
end)
