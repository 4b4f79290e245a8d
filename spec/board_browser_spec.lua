-- capsrun board in a real browser: Debian's headless Chromium driven by
-- puppeteer-core (spec/browser/board.test.js; tools/test.sh installs both).
-- Runs trained here in seconds; the board started on them; the page must
-- list them, draw their curves, grow a curve when an epoch is appended,
-- explore a test image, step the routing, redraw the reconstruction when a
-- slider moves (95th percentile under 30 ms), predict a drawn digit, answer
-- 100 requests at once, and log no error in the console. Screenshots go to
-- $CAPSRUN_SCREENSHOTS when set (docs/img/board holds the README's).
local H = require "spec.helpers"
local json = require "capsrun.json"

local function have(cmd) return os.execute(cmd .. " >/dev/null 2>&1") == true end
local ready = have("test -x /usr/bin/chromium") and have("node --version") and have("test -d spec/browser/node_modules/puppeteer-core")
-- a machine without the browser may skip it; CI (tools/test.sh installs it) may not
local browser_it = (ready or os.getenv("CI") == "true") and it or pending

describe("board in a browser", function()
  browser_it("lists runs, grows curves live, explores capsules and answers fast", function()
    local dir = H.tmpdir()
    local code, out = H.run(("experiments/reconstruct.lua --data %s --limit 96 --epochs 1 --batch 16 --conv-channels 8 " ..
      "--primary-types 2 --routing-iters 3 --precision f32 --save %s/runs/ae/capsnet.tensors"):format(H.mnist(), dir))
    assert.equal(0, code, out)
    code, out = H.run(("experiments/classify.lua --model cnn --data %s --limit 64 --epochs 2 --batch 16 --precision f32 " ..
      "--save %s/runs/cnn/cnn.tensors"):format(H.mnist(), dir))
    assert.equal(0, code, out)
    local url, pid = H.start_board(("%s/runs --data %s --seconds 300"):format(dir, H.mnist()), dir .. "/board.log")
    assert.truthy(url, H.read(dir .. "/board.log"))
    local shots = os.getenv("CAPSRUN_SCREENSHOTS") or dir
    local result = dir .. "/result.json"
    local _, _, rc = os.execute(("cd spec/browser && CAPSRUN_LATENCY_LIMIT=%s timeout 240 node board.test.js %s %s/runs ae %s > %s 2>&1")
      :format(H.asan and "1000" or "30", url, dir, shots, result))
    os.execute("kill " .. pid .. " 2>/dev/null")
    local text = H.read(result)
    local last
    for line in text:gmatch("[^\n]+") do last = line end   -- the script's one JSON line ends its output
    local ok, r = pcall(json.decode, last)
    assert.is_true(ok, text)
    local failed = {}
    for _, c in ipairs(r.checks) do
      if not c.ok then failed[#failed + 1] = c.name .. ": " .. json.encode(c.detail) end
    end
    assert.same({}, failed)
    assert.equal(0, rc, text)
    print(("\nboard: slider to reconstruction over %d moves: median %.1f ms, 95th percentile %.1f ms")
      :format(r.latencies.n, r.latencies.median, r.latencies.p95))
    H.rm_rf(dir)
  end)
end)
