-- Efficient-CapsNet against a PyTorch (float64) reference on identical
-- weights and inputs (bench/efficient_torch.py): one training-mode step's
-- class-capsule lengths, margin loss, every parameter's gradient and the
-- batch norms' running statistics, within 1e-4.
local capsrun = require "capsrun"
local T = capsrun.native

local H = require "spec.helpers"
local PYTHON, have_torch, rel = H.python, H.have_torch, H.rel

describe("Efficient-CapsNet against the PyTorch reference", function()
  local torch_ok = have_torch()
  local run = (torch_ok or os.getenv("CI") == "true") and it or pending
  for _, case in ipairs{{"MNIST's 28x28, 10 classes", {1, 28, 28}, 10}, {"RGB 32x32, 4 classes", {3, 32, 32}, 4}} do
    run("agrees on lengths, loss, every gradient and the running statistics to 1e-4 (" .. case[1] .. ")", function()
      assert.is_true(torch_ok, "python3-torch is required under CI")
      local gen = T.generator(31)
      local model = capsrun.EfficientCapsNet.new{input = case[2], classes = case[3], gen = gen}
      for _, e in ipairs(model:named_parameters()) do   -- batch norm affine and routing bias away from their init
        if e.name:find("^%d+%.bias$") or e.name:find("^%d+%.weight$") and e.param:dim() == 1 then
          e.param:add_(T.zeros(e.param:size()):uniform_(gen, -0.2, 0.2))
        end
      end
      local x = T.zeros(4, table.unpack(case[2])):uniform_(gen)
      local labels = T.new{0, 1, 2, case[3] - 1}
      local files = {input = x, labels = labels, classes = T.new{case[3]}}
      for _, e in ipairs(model:named_parameters()) do files[e.name] = e.param:clone() end
      for _, e in ipairs(model:named_buffers()) do files[e.name] = e.buffer:clone() end
      local clf = capsrun.train.classifier(model)
      model:zero_grad()
      local v = model:forward(x)
      local lengths = clf.head:forward(v)
      local loss = clf.criterion:forward(lengths, labels)
      model:backward(x, clf.head:backward(v, clf.criterion:backward(lengths, labels)))

      local dir = os.tmpname(); os.remove(dir); assert(T.mkdir(dir))
      T.save_tensors(dir .. "/in.tensors", files)
      assert.is_true(os.execute(("%s bench/efficient_torch.py reference %s/in.tensors %s/out.tensors")
        :format(PYTHON, dir, dir)) == true)
      local ref = T.load_tensors(dir .. "/out.tensors")
      os.execute("rm -rf '" .. dir .. "'")
      assert.is_true(rel(lengths, ref.lengths) < 1e-4, "lengths " .. rel(lengths, ref.lengths))
      assert.near(ref.loss:get(1), loss, 1e-4 * math.abs(ref.loss:get(1)))
      for _, e in ipairs(model:named_parameters()) do
        local r = ref["grad." .. e.name]
        assert.is_true(rel(e.grad, r) < 1e-4, ("gradient of %s: %g"):format(e.name, rel(e.grad, r)))
      end
      for _, e in ipairs(model:named_buffers()) do
        local r = ref["buffer." .. e.name]
        assert.is_true(rel(e.buffer, r) < 1e-5, ("%s: %g"):format(e.name, rel(e.buffer, r)))
      end
    end)
  end
end)
