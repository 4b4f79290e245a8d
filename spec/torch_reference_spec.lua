-- One forward and backward of the full CapsNet against a PyTorch (float64)
-- reference on identical weights and inputs: bench/capsnet_torch.py.
-- Skipped only when python3-torch is absent and CI is not set.
local capsrun = require "capsrun"
local T = capsrun.native

-- Debian's python3-torch lives with Debian's python, which a python3
-- elsewhere on PATH (pyenv, venv) may hide
local PYTHON = os.getenv("CAPSRUN_PYTHON") or "/usr/bin/python3"

local function have_torch()
  return os.execute(PYTHON .. " -c 'import torch' >/dev/null 2>&1") == true
end

local function rel_err(a, b)
  local diff = (a - b):reshape(-1)
  local _, imax = diff:max(); local _, imin = diff:min()
  local worst = math.max(math.abs(diff:get(imax)), math.abs(diff:get(imin)))
  local bf = b:reshape(-1)
  local scale = math.max(math.abs(bf:max()), math.abs(bf:min()))
  return worst / scale
end

describe("CapsNet against the PyTorch reference", function()
  local torch_ok = have_torch()
  local run = (torch_ok or os.getenv("CI") == "true") and it or pending

  -- the paper's model with 3 and 1 iterations, and a 3-channel 32x32 one shaped from the options
  local cases = {
    {"3 routing iterations", {routing_iters = 3}, {2, 1, 28, 28}},
    {"1 routing iterations", {routing_iters = 1}, {2, 1, 28, 28}},
    {"RGB 32x32, 5 classes, smaller layers, stride 3", {routing_iters = 2, input = {3, 32, 32}, classes = 5,
      conv_channels = 16, conv_kernel = 5, primary_types = 4, primary_dim = 6, primary_kernel = 7,
      primary_stride = 3, digit_dim = 12}, {2, 3, 32, 32}},
  }
  for k, case in ipairs(cases) do
    local iters = case[2].routing_iters
    run(("agrees on outputs and every gradient to 1e-4 (%s)"):format(case[1]), function()
      assert.is_true(torch_ok, "python3-torch is required under CI")
      local gen = T.generator(2017 + k)
      local opts = {gen = gen}
      for key, v in pairs(case[2]) do opts[key] = v end
      local model = capsrun.CapsNet.new(opts)
      -- W larger than its init so that routing moves the couplings
      model.digitcaps.weight:normal_(gen, 0, 0.05)
      local x = T.zeros(table.unpack(case[3])):uniform_(gen)
      local labels = T.new{3, (model.config.classes > 7) and 7 or 1}
      local clf = capsrun.train.classifier(model)
      model:zero_grad()
      local v = model:forward(x)
      local lengths = clf.head:forward(v)
      local loss = clf.criterion:forward(lengths, labels)
      model:backward(x, clf.head:backward(v, clf.criterion:backward(lengths, labels)))

      local dir = os.tmpname(); os.remove(dir); assert(T.mkdir(dir))
      local files = {input = x, labels = labels, iters = T.new{iters}, stride = T.new{model.config.primary_stride}}
      for _, e in ipairs(model:named_parameters()) do files[e.name] = e.param end
      T.save_tensors(dir .. "/in.tensors", files)
      local ok = os.execute(("%s bench/capsnet_torch.py reference %s/in.tensors %s/out.tensors")
        :format(PYTHON, dir, dir))
      assert.is_true(ok == true, "the PyTorch reference failed")
      local ref = T.load_tensors(dir .. "/out.tensors")
      os.remove(dir .. "/in.tensors"); os.remove(dir .. "/out.tensors"); os.remove(dir)

      assert.is_true(rel_err(v, ref.v) < 1e-4, "digit capsules differ")
      assert.is_true(rel_err(lengths, ref.lengths) < 1e-4, "lengths differ")
      assert.near(ref.loss:get(1), loss, 1e-4 * math.abs(ref.loss:get(1)))
      for _, e in ipairs(model:named_parameters()) do
        local err = rel_err(e.grad, ref["grad." .. e.name])
        assert.is_true(err < 1e-4, ("gradient of %s differs: relative %g"):format(e.name, err))
      end
    end)
  end
  run("CNN baseline against the PyTorch reference agrees on logits, loss and every gradient to 1e-4", function()
    assert.is_true(torch_ok, "python3-torch is required under CI")
    local gen = T.generator(5)
    -- the paper's layout at a small size: 3 padded 5x5 convolutions, 2 hidden layers, dropout off
    local model = capsrun.CNNBaseline.new{input = {2, 9, 9}, classes = 4, channels = {6, 5, 3}, hidden = {7, 6},
      dropout = 0, gen = gen}
    local x = T.zeros(3, 2, 9, 9):uniform_(gen, -1, 1)
    local labels = T.new{3, 0, 2}
    local clf = capsrun.train.classifier(model)
    model:zero_grad()
    local logits = model:forward(x):clone()
    local loss = clf.criterion:forward(logits, labels)
    model:backward(x, clf.criterion:backward(logits, labels))
    local dir = os.tmpname(); os.remove(dir); assert(T.mkdir(dir))
    local files = {input = x, labels = labels}
    for _, e in ipairs(model:named_parameters()) do files[e.name] = e.param end
    T.save_tensors(dir .. "/in.tensors", files)
    local ok = os.execute(("%s bench/cnn_torch.py reference %s/in.tensors %s/out.tensors"):format(PYTHON, dir, dir))
    assert.is_true(ok == true, "the PyTorch reference failed")
    local ref = T.load_tensors(dir .. "/out.tensors")
    os.remove(dir .. "/in.tensors"); os.remove(dir .. "/out.tensors"); os.remove(dir)
    assert.is_true(rel_err(logits, ref.logits) < 1e-4, "logits differ")
    assert.near(ref.loss:get(1), loss, 1e-4 * math.abs(ref.loss:get(1)))
    local names = 0
    for _, e in ipairs(model:named_parameters()) do
      local err = rel_err(e.grad, ref["grad." .. e.name])
      assert.is_true(err < 1e-4, ("gradient of %s differs: relative %g"):format(e.name, err))
      names = names + 1
    end
    assert.equal(12, names)
  end)
end)
