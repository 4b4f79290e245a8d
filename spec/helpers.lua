-- Shared by the specs: temporary files and running the capsrun executable.
local helpers = {}

helpers.bin = os.getenv("CAPSRUN_BIN") or "build/capsrun"
-- Debian's python3-torch lives with Debian's python, which a python3
-- elsewhere on PATH (pyenv, venv) may hide
helpers.python = os.getenv("CAPSRUN_PYTHON") or "/usr/bin/python3"

--- have_torch(): PyTorch can be imported (the reference specs need it under CI)
function helpers.have_torch()
  return os.execute(helpers.python .. " -c 'import torch' >/dev/null 2>&1") == true
end

--- rel(a, b) -> |a - b| / |b|: the relative difference of two tensors
function helpers.rel(a, b) return (a - b):norm() / math.max(b:norm(), 1e-30) end

--- torch_reference(script, entries [, model]) -> the tensors a PyTorch reference
-- (bench/<script> IN OUT) computes from entries, plus param.<name> of each of
-- model's parameters; fails the spec when the script fails
function helpers.torch_reference(script, entries, model)
  local T = require("capsrun").native
  local dir = helpers.tmpdir()
  local all = {}
  for k, v in pairs(entries) do all[k] = v end
  if model then for _, e in ipairs(model:named_parameters()) do all["param." .. e.name] = e.param end end
  T.save_tensors(dir .. "/in.tensors", all)
  local ok = os.execute(("%s bench/%s %s/in.tensors %s/out.tensors"):format(helpers.python, script, dir, dir))
  assert(ok == true, "bench/" .. script .. " failed")
  local ref = T.load_tensors(dir .. "/out.tensors")
  helpers.rm_rf(dir)
  return ref
end

--- assert_grads_match(model, ref [, tol 1e-4]): each parameter's gradient against
-- ref["grad.<name>"], relative; a gradient that is truly 0 (a key projection's
-- bias shifts every logit of a query alike) may come out as float noise
function helpers.assert_grads_match(model, ref, tol)
  for _, e in ipairs(model:named_parameters()) do
    local want = ref["grad." .. e.name]
    assert(want ~= nil, "no reference gradient for " .. e.name)
    local zero = want:norm() < 1e-8 and e.grad:norm() < 1e-5
    assert(zero or helpers.rel(e.grad, want) < (tol or 1e-4), ("%s: %g"):format(e.name, helpers.rel(e.grad, want)))
  end
end
helpers.shared_mnist = "../shared/data/mnist"

function helpers.tmpdir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(require("capsrun.native").mkdir(dir))
  return dir
end

function helpers.write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

function helpers.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

function helpers.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

--- run(args, stdin, env) -> exit code, stdout+stderr; env: "NAME=value ..." for the command
function helpers.run(args, stdin, env)
  local out, inp = os.tmpname(), nil
  local cmd = (env and env ~= "" and ("env " .. env .. " ") or "") .. helpers.bin .. " " .. args .. " > " .. out .. " 2>&1"
  if stdin then
    inp = os.tmpname()
    helpers.write(inp, stdin)
    cmd = cmd .. " < " .. inp
  else
    cmd = cmd .. " < /dev/null"
  end
  local _, _, code = os.execute(cmd)
  local text = helpers.read(out)
  os.remove(out)
  if inp then os.remove(inp) end
  return code, text
end

--- run_env(env, args, stdin): run with environment variables set
function helpers.run_env(env, args, stdin) return helpers.run(args, stdin, env) end

--- IDX bytes: header for unsigned bytes with the given dims, then body
function helpers.idx(dims, body, magic)
  local parts = {magic or string.pack("BBBB", 0, 0, 8, #dims)}
  for _, d in ipairs(dims) do parts[#parts + 1] = string.pack(">I4", d) end
  parts[#parts + 1] = body or ""
  return table.concat(parts)
end

-- 5x7 bitmaps of the digits 0-9, rows top to bottom
local GLYPHS = {
  {"01110", "10001", "10011", "10101", "11001", "10001", "01110"},
  {"00100", "01100", "00100", "00100", "00100", "00100", "01110"},
  {"01110", "10001", "00001", "00010", "00100", "01000", "11111"},
  {"11111", "00010", "00100", "00010", "00001", "10001", "01110"},
  {"00010", "00110", "01010", "10010", "11111", "00010", "00010"},
  {"11111", "10000", "11110", "00001", "00001", "10001", "01110"},
  {"00110", "01000", "10000", "11110", "10001", "10001", "01110"},
  {"11111", "00001", "00010", "00100", "01000", "01000", "01000"},
  {"01110", "10001", "10001", "01110", "10001", "10001", "01110"},
  {"01110", "10001", "10001", "01111", "00001", "00010", "01100"},
}

--- synthetic_digits(n, seed) -> image bytes (n x 28 x 28), label bytes: the
-- glyphs above at 3x, shifted up to 3 pixels, of random ink, over faint
-- noise. Learnable in a few hundred images, yet not by one fixed pixel.
function helpers.synthetic_digits(n, seed)
  local state = seed
  local function rand(k)   -- 0 .. k-1, a 31-bit LCG: same bytes everywhere
    state = (state * 1103515245 + 12345) % 2147483648
    return (state >> 8) % k
  end
  local images, labels = {}, {}
  for i = 1, n do
    local class = rand(10)
    local glyph, dx, dy, ink = GLYPHS[class + 1], rand(7) - 3, rand(7) - 3, 160 + rand(96)
    local px = {}
    for y = 0, 27 do
      for x = 0, 27 do
        local gx, gy = (x - 6 - dx) // 3, (y - 3 - dy) // 3
        local on = gx >= 0 and gx < 5 and gy >= 0 and gy < 7 and glyph[gy + 1]:sub(gx + 1, gx + 1) == "1"
        px[#px + 1] = on and ink or (rand(20) == 0 and rand(60) or 0)
      end
    end
    images[i] = string.char(table.unpack(px))
    labels[i] = string.char(class)
  end
  return table.concat(images), table.concat(labels)
end

local generated   -- one data set per busted process, removed when Lua closes

--- mnist() -> a folder holding MNIST-format IDX files of synthetic digits:
-- 1200 training and 1000 test images, so specs never need a download
function helpers.mnist()
  if generated then return generated.dir end
  local dir = helpers.tmpdir()
  local function write_set(prefix, n, seed)
    local images, labels = helpers.synthetic_digits(n, seed)
    helpers.write(dir .. "/" .. prefix .. "-images-idx3-ubyte", helpers.idx({n, 28, 28}, images))
    helpers.write(dir .. "/" .. prefix .. "-labels-idx1-ubyte", helpers.idx({n}, labels))
  end
  write_set("train", 1200, 1)
  write_set("t10k", 1000, 2)
  generated = setmetatable({dir = dir}, {__gc = function(g) helpers.rm_rf(g.dir) end})
  return dir
end

--- has_real_mnist(): ../shared's MNIST is there (real-data extras run only then)
function helpers.has_real_mnist()
  return helpers.exists(helpers.shared_mnist .. "/train-images-idx3-ubyte.gz")
end

function helpers.rm_rf(dir)
  os.execute("rm -rf '" .. dir .. "'")
end

--- run_killed_mid_epoch(args, ck, log [, epoch]) -> checkpoint: starts capsrun
-- with args in the background, waits for a mid-epoch checkpoint of that epoch
-- (default 2) in ck, SIGKILLs the run and returns the checkpoint (nil if none came)
function helpers.run_killed_mid_epoch(args, ck, log, epoch)
  local checkpoint = require "capsrun.checkpoint"
  local p = io.popen(("%s %s > %s 2>&1 & echo $!"):format(helpers.bin, args, log))
  local pid = p:read("l"); p:close()
  local state
  -- the run is frozen (SIGSTOP) while its checkpoint is read: a fast machine cannot finish
  -- the run between the checkpoint we saw and the kill
  local native = require "capsrun.native"
  local function wanted(e, done) return tonumber(e) == (epoch or 2) and (tonumber(done) or 0) > 0 end
  for _ = 1, 3000 do
    -- the metadata alone while the run goes on (whole checkpoints read every 20 ms filled
    -- AddressSanitizer's quarantine); the whole checkpoint once the run is stopped
    local ok, meta = pcall(native.load_tensor_entry, ck, "meta")
    if ok and type(meta) == "string" and wanted(meta:match("epoch=(%d+)"), meta:match("done=(%d+)")) then
      os.execute("kill -STOP " .. pid)
      local ok2, c = pcall(checkpoint.load, ck)
      if ok2 and wanted(c.meta.epoch, c.meta.done) then state = c; break end
      os.execute("kill -CONT " .. pid)
    end
    os.execute("sleep 0.02")
  end
  os.execute("kill -9 " .. pid)
  return state
end

--- asan: true under AddressSanitizer (tools/sanitize.sh), where freed memory
-- stays resident in its quarantine and everything runs a few times slower
helpers.asan = os.getenv("ASAN_OPTIONS") ~= nil

--- start_board(args, log) -> url, pid: experiments/board.lua in the background
-- on a free port, once it prints its address (nil after 20 s without it)
function helpers.start_board(args, log)
  local p = io.popen(("%s experiments/board.lua --port 0 %s > %s 2>&1 & echo $!"):format(helpers.bin, args, log))
  local pid = p:read("l"); p:close()
  for _ = 1, 1000 do
    local text = helpers.exists(log) and helpers.read(log) or ""
    local url = text:match("at (http://127%.0%.0%.1:%d+/)")
    if url then return url, pid end
    os.execute("sleep 0.02")
  end
  os.execute("kill " .. pid)
  return nil, pid
end

--- same_tensors(a, b) -> true, or false and the first name whose tensors differ
-- (tables of tensors as load_tensors returns them; a's tensors must all be in b)
function helpers.same_tensors(a, b)
  for k, v in pairs(a) do
    if type(v) == "userdata" then
      if type(b[k]) ~= "userdata" or (v - b[k]):norm() ~= 0 then return false, k end
    end
  end
  return true
end

--- labelled_rows(img, rows, cell_h) -> how many of a captioned grid's rows
-- (write_png_captioned) have their row label drawn: dark pixels in the strip
-- left of the grid, within the row's band. The rows end at the image's
-- bottom, whatever the title's lines above them take.
function helpers.labelled_rows(img, rows, cell_h)
  local top, n = img:size(1) - rows * (cell_h + 6), 0   -- PAD = 6 below each row (native/io/captioned_grid.c)
  for r = 0, rows - 1 do
    local dark = false
    for y = top + r * (cell_h + 6), top + r * (cell_h + 6) + cell_h - 1 do
      for x = 7, 60 do if img:get(y + 1, x + 1) < 0.5 then dark = true end end
    end
    if dark then n = n + 1 end
  end
  return n
end

return helpers
