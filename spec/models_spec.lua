-- The model registry (capsrun.models): every experiment that builds through
-- it offers every registered model; a model's own training defaults apply
-- where the command line says nothing; weights files name their kind.
local capsrun = require "capsrun"
local H = require "spec.helpers"

describe("models", function()
  it("lists the four models, builds each from the options and rebuilds each from a config", function()
    assert.same({"capsnet", "cnn", "em", "efficient"}, capsrun.models.names())
    assert.equal("em", capsrun.models.for_kind("em").key)
    assert.equal("capsnet", capsrun.models.for_kind(nil).key)   -- weights from before kinds were written
    assert.error_matches(function() capsrun.models.get("resnet") end, "unknown model 'resnet' %(known: capsnet, cnn, em, efficient%)")
    local opt = capsrun.models.option()
    assert.same(capsrun.models.names(), opt.choices)
  end)

  it("offers only the models that fit an experiment, with their options, after the experiment's own", function()
    local function capsules(d) return d.output == "capsules" end
    assert.same({"capsnet", "efficient"}, capsrun.models.option("capsnet", capsules).choices)
    local names = {}
    for _, o in ipairs(capsrun.models.options({{"cnn-pool", "string", "2,2", "mine"}}, capsules)) do names[#names + 1] = o[1] end
    assert.equal("cnn-pool", names[1])
    assert.truthy(table.concat(names, " "):find("digit-dim", 1, true))
    assert.falsy(table.concat(names, " "):find("em-sizes", 1, true))
    local all = capsrun.models.options({{"cnn-pool", "string", "2,2", "mine"}})
    local pools = 0
    for _, o in ipairs(all) do if o[1] == "cnn-pool" then pools = pools + 1; assert.equal("2,2", o[3]) end end
    assert.equal(1, pools)
    assert.equal(16, capsrun.models.get("efficient").capsule_dim())
  end)

  it("takes a new model with one register call", function()
    local built
    capsrun.models.register("tiny", {name = "Tiny", kind = "tiny",
      build = function(_, set) built = set.classes; return capsrun.Sequential.new{capsrun.Flatten.new()} end,
      from_config = function() return capsrun.Sequential.new{} end})
    local m = capsrun.models.build({model = "tiny"}, {classes = 3})
    assert.equal(3, built)
    assert.equal("Sequential", m.__name)
    assert.truthy(capsrun.models.option().choices[5] == "tiny")
    assert.error_matches(function() capsrun.models.register("bad", {}) end, "descriptor with build and from_config")
  end)

  it("gives --model em its own learning rate unless --lr is given", function()
    local dir = H.tmpdir()
    local base = ("experiments/classify.lua --model em --em-sizes 4,2,2,2 --data %s --limit 32 --epochs 0 --save %s/m.tensors")
      :format(H.mnist(), dir)
    local code, out = H.run(base)
    assert.equal(0, code, out)
    assert.truthy(out:find("MatrixCapsNet %(EM routing%): %d+ parameters, A,B,C,D = 4,2,2,2, 2 EM iterations, batch 32, lr 0.005"), out)
    local code2, out2 = H.run(base .. " --lr 1e-3")
    assert.equal(0, code2, out2)
    assert.truthy(out2:find("batch 32, lr 0.001", 1, true), out2)
    local _, out3 = H.run(("experiments/classify.lua --data %s --limit 32 --epochs 0 --save %s/c.tensors")
      :format(H.mnist(), dir))
    assert.truthy(out3:find("CapsNet: %d+ parameters, 3 iterations of dynamic routing, batch 32, lr 0.002"), out3)
    H.rm_rf(dir)
  end)
end)
