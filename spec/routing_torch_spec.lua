-- Each routing written in Lua against its PyTorch reference
-- (bench/routing_torch.py, float64) on identical predictions and
-- parameters: values and every gradient within 1e-4.
local capsrun = require "capsrun"
local T = capsrun.native
local ag = capsrun.autograd

local H = require "spec.helpers"
local PYTHON, have_torch, rel = H.python, H.have_torch, H.rel

describe("routings in Lua against PyTorch", function()
  local torch_ok = have_torch()
  local run = (torch_ok or os.getenv("CI") == "true") and it or pending
  local cases = {
    {"dynamic-lua", 0, 3}, {"dynamic-lua-detach", 1, 3}, {"self-attention", 2, 1}, {"inverted-dot", 3, 3},
    {"inverted-dot", 3, 1},
  }
  for _, case in ipairs(cases) do
    local name, kind, iters = case[1], case[2], case[3]
    run(("%s, %d iterations: values and gradients within 1e-4"):format(name, iters), function()
      assert.is_true(torch_ok, "python3-torch is required under CI")
      local g = T.generator(100 + kind)
      local B, I, J, D = 3, 14, 4, 6
      local uhat = T.zeros(B, I, J, D):normal_(g, 0, 0.5)
      local gv = T.zeros(B, J, D):uniform_(g, -1, 1)
      local entry = capsrun.routing[name]
      local route = type(entry) == "table" and entry.route or entry
      local params = type(entry) == "table" and entry.params and entry.params(I, J, D) or {}
      for _, p in pairs(params) do p:add_(T.zeros(p:size()):uniform_(g, -0.3, 0.3)) end   -- away from the init
      local tape = ag.tape()
      local x = tape:leaf(uhat, nil, true)
      local pv, grads = {}, {}
      for k, p in pairs(params) do grads[k] = T.zeros(p:size()); pv[k] = tape:leaf(p, grads[k]) end
      local v = route(x, iters, pv)
      tape:backward(v, gv)

      local dir = os.tmpname(); os.remove(dir); assert(T.mkdir(dir))
      local files = {uhat = uhat, gv = gv, iters = T.new{iters}, kind = T.new{kind}}
      for k, p in pairs(params) do files[k] = p end
      T.save_tensors(dir .. "/in.tensors", files)
      assert.is_true(os.execute(("%s bench/routing_torch.py reference %s/in.tensors %s/out.tensors")
        :format(PYTHON, dir, dir)) == true)
      local ref = T.load_tensors(dir .. "/out.tensors")
      os.execute("rm -rf '" .. dir .. "'")
      assert.is_true(rel(v.value, ref.v) < 1e-4, "value " .. rel(v.value, ref.v))
      assert.is_true(rel(x.grad, ref.grad_uhat) < 1e-4, "gradient of the predictions " .. rel(x.grad, ref.grad_uhat))
      for k in pairs(params) do
        assert.is_true(rel(grads[k], ref["grad_" .. k]) < 1e-4, "gradient of " .. k .. " " .. rel(grads[k], ref["grad_" .. k]))
      end
    end)
  end
end)
