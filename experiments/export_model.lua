-- export_model.lua: a trained model's outputs and weights for the tools people
-- already have.
--   capsules.tsv + metadata.tsv: the class capsules of N test images, one
--     row each (all classes' capsules, classes x dimensions values), with the
--     label and prediction of each: TensorBoard's embedding projector loads
--     both (projector.tensorflow.org: "Load", the vectors then the metadata);
--   model.safetensors: every parameter under its capsrun name and shape,
--     with the model's configuration as metadata; loads in Python
--     (safetensors, or json + numpy) and opens in Netron.
--
--   capsrun experiments/export_model.lua --load runs/reconstruct/capsnet.tensors
--   capsrun experiments/export_model.lua --load runs/classify/capsnet.tensors --n 5000 --out runs/classify/export
local capsrun = require "capsrun"
local experiment = require "capsrun.experiment"
local train = capsrun.train
local opts = capsrun.cli.parse(arg, {
  {"load", "string", "runs/reconstruct/capsnet.tensors", "weights from classify.lua or reconstruct.lua"},
  {"data", "string", nil, "folder of the data set the model was trained on (else $CAPSRUN_DATA, ./data)"},
  {"dataset", "string", nil, "data set of the test images (default: the one the weights name)"},
  {"n", "int", 1000, "test images whose capsules are exported", min = 1},
  {"out", "string", nil, "folder for the files (default: export/ beside --load)"},
}, "usage: capsrun experiments/export_model.lua [options]")

local model, decoder, cfg = experiment.try("export", train.load_model, opts.load)
local out = opts.out or (experiment.dirname(opts.load) .. "/export")
experiment.try(nil, experiment.mkdir_p, out)

-- the weights: the file's own names (decoder.* too), the configuration as metadata
local named = {}
for _, e in ipairs(train.named(decoder and {model = model, decoder = decoder} or model)) do named[e.name] = e.param end
local config = capsrun.native.load_tensors(opts.load).config
experiment.try("export", capsrun.native.save_safetensors, out .. "/model.safetensors", named,
  {format = "pt", capsrun_config = config, source = opts.load})
print(("weights: %d tensors in %s/model.safetensors"):format((function() local k = 0 for _ in pairs(named) do k = k + 1 end return k end)(), out))

-- the capsules of the first n test images
local dataset = opts.dataset or cfg.dataset or "mnist"
local set = experiment.try("export", capsrun.data.load, dataset, "test", {dir = opts.data, limit = opts.n})
local n = math.min(opts.n, set.n)
model:evaluate()
local names = cfg.class_names
local function name(k) return names and names[k + 1] or tostring(k) end
local vectors, meta = {}, {"label\tpredicted"}
for first = 1, n, 100 do
  local count = math.min(100, n - first + 1)
  local v = model:forward(set.images:narrow(first, count))
  if v:dim() ~= 3 then experiment.fail(1, "export: this model's output is not capsules (" .. (cfg.kind or "?") .. ")") end
  local J, D = v:size(2), v:size(3)
  local flat = v:reshape(count, J * D)
  for i = 1, count do
    local row, best, best_len = {}, 0, -1
    for j = 1, J do
      local s = 0
      for d = 1, D do
        local x = flat:get(i, (j - 1) * D + d)
        row[#row + 1] = ("%.6g"):format(x)
        s = s + x * x
      end
      if s > best_len then best, best_len = j - 1, s end
    end
    vectors[#vectors + 1] = table.concat(row, "\t")
    meta[#meta + 1] = name(math.tointeger(set.labels:get(first + i - 1))) .. "\t" .. name(best)
  end
end
local function write(path, lines)
  local f = assert(io.open(path, "w"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
end
experiment.try(nil, write, out .. "/capsules.tsv", vectors)
experiment.try(nil, write, out .. "/metadata.tsv", meta)
print(("capsules: %d test images of %s in %s/capsules.tsv (%d values each), labels in %s/metadata.tsv")
  :format(n, dataset, out, select(2, vectors[1]:gsub("\t", "")) + 1, out))
