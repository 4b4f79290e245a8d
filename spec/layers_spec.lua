local capsrun = require "capsrun"
local T = capsrun.native

local TOL = 2e-3  -- float32 central differences

local function gradcheck(m, x)
  return capsrun.gradcheck.max_error(capsrun.gradcheck.check(m, x, {gen = T.generator(5)}))
end

describe("Conv2d", function()
  local g = T.generator(11)

  it("computes a hand-checked convolution", function()
    local conv = capsrun.Conv2d.new(1, 1, 2, 1, 0, g)
    conv.weight:copy_(T.new{1, 0, 0, -1}); conv.bias:fill_(0.5)
    local x = T.new{{{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}}}
    -- out[y][x] = in[y][x] - in[y+1][x+1] + 0.5 = -4 + 0.5
    assert.same({{{{-3.5, -3.5}, {-3.5, -3.5}}}}, conv:forward(x):totable())
  end)

  it("has output shape (b, out, (h-k)//s+1, (w-k)//s+1)", function()
    local conv = capsrun.Conv2d.new(3, 5, 3, 2, 0, g)
    assert.same({2, 5, 4, 3}, conv:forward(T.zeros(2, 3, 9, 7)):size())
  end)

  it("passes a finite-difference check of input, weight and bias gradients", function()
    local conv = capsrun.Conv2d.new(2, 3, 3, 2, 0, g)
    assert.is_true(gradcheck(conv, T.zeros(2, 2, 7, 8):uniform_(g, -1, 1)) < TOL)
    local conv1 = capsrun.Conv2d.new(2, 3, 3, 1, 0, g)
    assert.is_true(gradcheck(conv1, T.zeros(2, 2, 5, 5):uniform_(g, -1, 1)) < TOL)
  end)

  it("accumulates parameter gradients until zero_grad", function()
    local conv = capsrun.Conv2d.new(1, 2, 2, 1, 0, g)
    local x = T.zeros(1, 1, 3, 3):uniform_(g)
    local gout = T.ones(1, 2, 2, 2)
    conv:forward(x); conv:backward(x, gout)
    local once = conv.grad_weight:clone()
    conv:forward(x); conv:backward(x, gout)
    assert.near(0, (conv.grad_weight - once * 2):norm(), 1e-5)
    conv:zero_grad()
    assert.equal(0, conv.grad_weight:norm())
  end)

  it("raises clear errors for bad shapes and arguments", function()
    local conv = capsrun.Conv2d.new(3, 4, 3, 1, 0, g)
    assert.error_matches(function() conv:forward(T.zeros(2, 3, 8)) end, "4%-D tensor expected, got 3%-D")
    assert.error_matches(function() conv:forward(T.zeros(2, 2, 8, 8)) end,
      "conv2d_forward.*shape %(%*, 3, %*, %*%) expected, got %(2, 2, 8, 8%)")
    assert.error_matches(function() conv:forward(T.zeros(1, 3, 2, 2)) end, "at least 3x3 pixels")
    assert.error_matches(function() capsrun.Conv2d.new(3, 0, 3) end, "out_channels must be an integer >= 1")
    assert.error_matches(function() conv:backward(T.zeros(2, 3, 5, 5), T.zeros(2, 4, 3, 3)) end, "call forward first")
  end)
end)

describe("Linear", function()
  local g = T.generator(12)

  it("computes x W^T + b", function()
    local l = capsrun.Linear.new(2, 1, g)
    l.weight:copy_(T.new{2, -1}); l.bias:fill_(1)
    assert.same({{1}, {4}}, l:forward(T.new{{1, 2}, {2, 1}}):totable())
  end)

  it("passes a finite-difference gradient check", function()
    assert.is_true(gradcheck(capsrun.Linear.new(6, 4, g), T.zeros(3, 6):uniform_(g, -1, 1)) < TOL)
  end)

  it("rejects mismatched inputs", function()
    local l = capsrun.Linear.new(6, 4, g)
    assert.error_matches(function() l:forward(T.zeros(3, 5)) end, "shape %(%*, 6%) expected, got %(3, 5%)")
  end)
end)

describe("activations", function()
  local g = T.generator(13)

  it("ReLU zeroes negatives and passes a gradient check away from 0", function()
    assert.same({0, 2}, capsrun.ReLU.new():forward(T.new{-1, 2}):totable())
    local x = T.zeros(4, 5):uniform_(g, 0.1, 1) * T.new(
      {{1, -1, 1, -1, 1}, {-1, 1, -1, 1, -1}, {1, 1, -1, -1, 1}, {-1, -1, 1, 1, -1}})
    assert.is_true(gradcheck(capsrun.ReLU.new(), x) < TOL)
  end)

  it("Sigmoid maps 0 to 0.5 and passes a gradient check", function()
    assert.equal(0.5, capsrun.Sigmoid.new():forward(T.zeros(1)):get(1))
    assert.is_true(gradcheck(capsrun.Sigmoid.new(), T.zeros(3, 4):uniform_(g, -2, 2)) < TOL)
  end)
end)

describe("Sequential", function()
  local g = T.generator(14)

  it("chains modules, collects parameters and checks gradients end to end", function()
    local s = capsrun.Sequential.new{capsrun.Linear.new(4, 5, g), capsrun.Sigmoid.new(), capsrun.Linear.new(5, 2, g)}
    local p, gr = s:parameters()
    assert.equal(4, #p); assert.equal(4, #gr)
    assert.equal(4 * 5 + 5 + 5 * 2 + 2, s:num_parameters())
    assert.is_true(gradcheck(s, T.zeros(3, 4):uniform_(g, -1, 1)) < TOL)
    assert.equal("1.weight", s:named_parameters()[1].name)
  end)

  it("names the failing module in errors", function()
    local s = capsrun.Sequential.new{capsrun.Linear.new(4, 5, g), capsrun.Linear.new(4, 2, g)}
    local ok, err = pcall(s.forward, s, T.zeros(1, 4))
    assert.is_false(ok)
    assert.truthy(err:find("In module 2 (Linear)", 1, true))
    assert.truthy(err:find("shape (*, 4) expected, got (1, 5)", 1, true))
  end)
end)
