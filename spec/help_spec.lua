-- The REPL's help and the README's names: help() lists the API by kind,
-- help(x) documents classes, instances, libraries and functions from their
-- source comments; every capsrun.<name> the README mentions exists.
local capsrun = require "capsrun"
local H = require "spec.helpers"

describe("help", function()
  it("lists the API by kind", function()
    local t = capsrun.help_text()
    assert.truthy(t:find("models:%s+CNNBaseline, CapsNet, Decoder, EfficientCapsNet, MatrixCapsNet\n"), t)
    assert.truthy(t:find("criterions:%s+CrossEntropyLoss, MarginLoss"), t)
    assert.truthy(t:find("capsrun.load", 1, true), t)
  end)

  it("documents classes, builders, instances, libraries and functions", function()
    local c = capsrun.help_text(capsrun.DigitCaps)
    assert.truthy(c:find("DigitCaps (class; DigitCaps < Module)", 1, true), c)
    assert.truthy(c:find("DigitCaps(in_caps, in_dim, out_caps, out_dim, routing_iters [, gen])", 1, true), c)
    assert.truthy(c:find("methods: .*forward"), c)
    assert.truthy(capsrun.help_text(capsrun.MarginLoss):find("< Criterion", 1, true))
    assert.truthy(capsrun.help_text(capsrun.CapsNet):find("Sabour", 1, true))
    local m = capsrun.CapsNet.new{input = {1, 12, 12}, conv_kernel = 3, primary_kernel = 3, conv_channels = 4,
      primary_types = 2}
    local i = capsrun.help_text(m)
    assert.truthy(i:find("DigitCaps(32 x 8D -> 10 x 16D, 3 routing iterations)", 1, true), i)
    assert.truthy(i:find("41592 parameters", 1, true), i)
    assert.truthy(capsrun.help_text(capsrun.train):find("step%s+step%(clf, optimizer, images, labels%)"))
    assert.truthy(capsrun.help_text(capsrun.train.step):find("Under MPI", 1, true))
    assert.truthy(capsrun.help_text(capsrun.zeros):find("native", 1, true))
  end)

  it("is a global in the REPL", function()
    local code, out = H.run("-i", "help(capsrun.Squash)\n")
    assert.equal(0, code, out)
    assert.truthy(out:find("Squash (class; Squash < Module)", 1, true), out)
  end)

  it("every capsrun.<name> in the README exists", function()
    local f = assert(io.open("README.md"))
    local text = f:read("a"); f:close()
    local missing = {}
    for path in text:gmatch("capsrun%.([%w_%.]+[%w_])") do
      local v = capsrun
      for part in path:gmatch("[^%.]+") do v = type(v) == "table" and v[part] or nil end
      if v == nil and not path:match("^tensors$") and not path:match("^lua$") then missing[#missing + 1] = path end
    end
    assert.same({}, missing)
  end)
end)
