-- Shared by the specs: temporary files and running the capsrun executable.
local helpers = {}

helpers.bin = os.getenv("CAPSRUN_BIN") or "build/capsrun"
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
  local out = os.tmpname()
  local cmd = (env and env ~= "" and ("env " .. env .. " ") or "") .. helpers.bin .. " " .. args .. " > " .. out .. " 2>&1"
  if stdin then
    local inp = os.tmpname()
    helpers.write(inp, stdin)
    cmd = cmd .. " < " .. inp
  else
    cmd = cmd .. " < /dev/null"
  end
  local _, _, code = os.execute(cmd)
  local text = helpers.read(out)
  os.remove(out)
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

function helpers.rm_rf(dir)
  os.execute("rm -rf '" .. dir .. "'")
end

return helpers
