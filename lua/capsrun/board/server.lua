--- The board's web server: the page (lua/capsrun/board/www), the runs under
-- a folder and the capsule explorer, as a JSON API. Handlers are Lua, run
-- on the thread that trains nothing else; the math is the native calls of
-- training. Everything it serves lies under the runs folder or www/:
-- paths are checked segment by segment and resolved (capsrun.native.safe_path).
--
--   GET  /                       the page         GET /api/runs      runs, rows, figures, weights
--   GET  /runs/<run>/<file>      a run's figure or CSV (png, csv, tsv, txt, json)
--   GET  /api/model?id=<weights> what the explorer needs to know of a model
--   GET  /api/test_image?id=&index=   a test image of the model's data set
--   POST /api/explore      {id, index} or {id, pixels, h, w, channels, digits}
--   POST /api/reconstruct  {id, class, capsule}
local native = require "capsrun.native"
local json = require "capsrun.json"
local runs = require "capsrun.board.runs"
local explorer = require "capsrun.board.explorer"

local server = {}
local Board = {}
Board.__index = Board

local TYPES = {html = "text/html; charset=utf-8", js = "text/javascript; charset=utf-8", css = "text/css; charset=utf-8",
  png = "image/png", csv = "text/csv; charset=utf-8", tsv = "text/tab-separated-values; charset=utf-8",
  txt = "text/plain; charset=utf-8", json = "application/json", safetensors = "application/octet-stream"}
local RUN_FILES = {png = true, csv = true, tsv = true, txt = true, json = true, safetensors = true}
local CHART_JS = {"/usr/share/javascript/chart.js/chart.umd.js", "/usr/share/javascript/chart.js/chart.min.js",
  "/usr/share/nodejs/chart.js/dist/chart.umd.js"}
local MAX_MODELS = 3   -- explorers kept loaded: the board's memory stays bounded however many runs there are

local function www_dir()
  local here = package.searchpath("capsrun.board.server", package.path)
  return (here and here:match("^(.*)/[^/]*$") or "lua/capsrun/board") .. "/www"
end

--- new{root, host, port, data, dataset} -> a board listening on host:port
function server.new(opts)
  local self = setmetatable({root = opts.root, www = opts.www or www_dir(), data = opts.data, dataset = opts.dataset,
    models = {}, test_sets = {}, configs = {}}, Board)
  if not native.file_info(self.root) then error(("board: runs folder %s does not exist"):format(self.root), 0) end
  self.http = native.http_listen(opts.host or "127.0.0.1", opts.port or 0, opts.max_body or 4 * 1024 * 1024)
  self.port = self.http:port()
  return self
end

local function reply(status, value) return status, json.encode(value), TYPES.json end
local function fail(status, message) return reply(status, {error = message}) end

local function file_reply(path)
  local f = io.open(path, "rb")
  if not f then return fail(404, "not found") end
  local body = f:read("a")
  f:close()
  return 200, body, TYPES[path:match("%.(%w+)$") or ""] or "application/octet-stream"
end

-- a file under root (www or runs); nil when the path is refused or missing
local function under(root, rel)
  local path, why = native.safe_path(root, rel)
  if not path then return nil, why == "missing" and 404 or 403 end
  return path
end

function Board:explorer_for(id)
  if type(id) ~= "string" or not id:match("%.tensors$") then error({400, "id: a weights file (.tensors) expected"}) end
  local path, code = under(self.root, id)
  if not path then error({code, ("%s: %s"):format(id, code == 404 and "no such weights file" or "refused")}) end
  local info = native.file_info(path)
  for i, m in ipairs(self.models) do
    if m.path == path and m.mtime == info.mtime then
      table.insert(self.models, 1, table.remove(self.models, i))   -- most recently used first
      return m.explorer
    end
  end
  local ok, e = pcall(explorer.new, path)
  if not ok then error({422, ("%s: %s"):format(id, tostring(e))}) end
  table.insert(self.models, 1, {path = path, mtime = info.mtime, explorer = e})
  if #self.models > MAX_MODELS then
    table.remove(self.models)
    collectgarbage()   -- the collector does not see the tensors' memory: free the evicted model now
  end
  return e
end

function Board:test_set(e)
  local name = self.dataset or e.config.dataset or "mnist"
  if self.test_sets[name] == nil then
    local ok, set = pcall(require("capsrun.data").load, name, "test", {dir = self.data, limit = 2000})
    self.test_sets[name] = ok and set or false
    self.test_error = not ok and tostring(set) or nil
  end
  if not self.test_sets[name] then
    error({404, ("no test images of '%s' (give the board --data DIR): %s"):format(name, self.test_error or "")})
  end
  return self.test_sets[name]
end

function Board:test_image(e, index)
  local set = self:test_set(e)
  if math.type(index) ~= "integer" or index < 0 or index >= set.n then
    error({400, ("index: an integer in [0, %d] expected"):format(set.n - 1)})
  end
  local img = set.images:narrow(index + 1, 1)
  return img, math.tointeger(set.labels:get(index + 1)), set.n
end

local api = {}

function api.runs(self)
  local list = runs.list(self.root, self.configs)
  for _, r in ipairs(list) do
    r.figures, r.weights, r.columns = json.array(r.figures), json.array(r.weights), json.array(r.columns)
    r.models = json.array(r.models)   -- r.options: an object, or absent
    for i, row in ipairs(r.rows) do r.rows[i] = json.array(row) end
    r.rows = json.array(r.rows)
  end
  return reply(200, {root = self.root, runs = json.array(list), now = native.wallclock()})
end

function api.model(self, req)
  return reply(200, self:explorer_for(req.args.id):summary())
end

function api.test_image(self, req)
  local e = self:explorer_for(req.args.id)
  local img, label, n = self:test_image(e, math.tointeger(tonumber(req.args.index or "")))
  local c, h, w = img:size(2), img:size(3), img:size(4)
  return reply(200, {pixels = explorer.list(img), label = label, channels = c, h = h, w = w, count = n})
end

local function body_of(req)
  local ok, t = pcall(json.decode, req.body)
  if not ok then error({400, t}) end
  if type(t) ~= "table" then error({400, "a JSON object expected"}) end
  return t
end

function api.explore(self, req)
  local t = body_of(req)
  local e = self:explorer_for(t.id)
  local x, note, label
  if t.index ~= nil then
    x, label = self:test_image(e, math.tointeger(t.index))
    note = "test image " .. t.index
  else
    local h, w, c = math.tointeger(t.h), math.tointeger(t.w), math.tointeger(t.channels or 1)
    if not (h and w and c) or h < 1 or w < 1 or h > 512 or w > 512 or (c ~= 1 and c ~= 3) then
      error({400, "h and w: integers in [1, 512], channels: 1 or 3 expected"})
    end
    if type(t.pixels) ~= "table" or #t.pixels ~= h * w * c then
      error({400, ("pixels: a list of h*w*channels = %d numbers expected"):format(h * w * c)})
    end
    for i = 1, #t.pixels do
      local v = t.pixels[i]
      if type(v) ~= "number" or v ~= v or v < -1e3 or v > 1e3 then error({400, ("pixels[%d]: a number expected"):format(i)}) end
    end
    local ok, xx, nn = pcall(e.image_from, e, t.pixels, h, w, c, t.digits == true)
    if not ok then error({400, tostring(xx)}) end
    x, note = xx, nn
  end
  local t0 = native.wallclock()
  local result = e:explore(x)
  result.ms = (native.wallclock() - t0) * 1000
  result.note, result.label = note, label
  result.h, result.w, result.channels = x:size(3), x:size(4), x:size(2)
  return reply(200, result)
end

function api.reconstruct(self, req)
  local t = body_of(req)
  local e = self:explorer_for(t.id)
  local t0 = native.wallclock()
  local ok, pixels = pcall(e.reconstruct, e, math.tointeger(t.class), t.capsule)
  if not ok then error({400, tostring(pixels)}) end
  return reply(200, {pixels = pixels, h = e.input[2], w = e.input[3], channels = e.input[1],
    ms = (native.wallclock() - t0) * 1000})
end

local GETS = {["/api/runs"] = api.runs, ["/api/model"] = api.model, ["/api/test_image"] = api.test_image}
local POSTS = {["/api/explore"] = api.explore, ["/api/reconstruct"] = api.reconstruct}

function Board:route(req)
  local path, method = req.path, req.method
  if POSTS[path] then
    if method ~= "POST" then return fail(405, path .. " takes POST") end
    return POSTS[path](self, req)
  end
  if method ~= "GET" and method ~= "HEAD" then return fail(405, "only GET and POST are served") end
  if GETS[path] then return GETS[path](self, req) end
  if path == "/" then return file_reply(self.www .. "/index.html") end
  if path == "/vendor/chart.js" then
    for _, p in ipairs(CHART_JS) do if native.file_info(p) then return file_reply(p) end end
    return 404, "/* Chart.js is not installed (Debian: libjs-chart.js) */", TYPES.js
  end
  local rel = path:match("^/static/(.+)$")
  if rel then
    local p, code = under(self.www, rel)
    if not p then return fail(code, "not found") end
    return file_reply(p)
  end
  rel = path:match("^/runs/(.+)$")
  if rel then
    local ext = rel:match("%.(%w+)$")
    if not (ext and RUN_FILES[ext]) then return fail(403, "only figures, CSV, TSV, JSON and safetensors files are served") end
    local p, code = under(self.root, rel)
    if not p then return fail(code, code == 404 and "not found" or "refused: outside the runs folder") end
    return file_reply(p)
  end
  return fail(404, "not found: " .. path)
end

--- handle(req) -> status, body, content type; never raises
function Board:handle(req)
  local ok, status, body, ctype = pcall(self.route, self, req)
  if ok then return status, body, ctype end
  if type(status) == "table" then return fail(status[1], status[2]) end
  io.stderr:write("board: ", tostring(status), "\n")
  return fail(500, tostring(status))
end

--- run([seconds]): serves until the time is up (forever without it)
function Board:run(seconds)
  local stop = seconds and native.wallclock() + seconds
  local handler = function(req) return self:handle(req) end
  while not stop or native.wallclock() < stop do
    self.http:serve(200, handler)
  end
  self.http:close()
end

return server
