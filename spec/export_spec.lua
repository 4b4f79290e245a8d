-- experiments/export_model.lua: the TensorBoard projector's TSV files and the
-- safetensors weights, read back by an independent reader (Python's json
-- and numpy, bench/safetensors_torch.py) and loaded into the PyTorch
-- reference CapsNet and decoder, whose outputs must equal capsrun's.
local capsrun = require "capsrun"
local H = require "spec.helpers"
local T = capsrun.native

describe("experiments/export_model.lua", function()
  local torch_ok = H.have_torch()
  local run = (torch_ok or os.getenv("CI") == "true") and it or pending

  run("writes projector TSVs and safetensors that load into the PyTorch model with equal outputs", function()
    assert.is_true(torch_ok, "python3-torch is required under CI")
    local dir = H.tmpdir()
    local code, out = H.run(("experiments/reconstruct.lua --data %s --limit 96 --epochs 1 --batch 16 --conv-channels 8 " ..
      "--primary-types 2 --routing-iters 2 --precision f32 --save %s/ae/capsnet.tensors"):format(H.mnist(), dir))
    assert.equal(0, code, out)
    code, out = H.run(("experiments/export_model.lua --load %s/ae/capsnet.tensors --data %s --n 12"):format(dir, H.mnist()))
    assert.equal(0, code, out)
    assert.truthy(out:find("capsules: 12 test images of mnist in .*capsules.tsv %(160 values each%)"), out)
    -- projector files: 12 rows of 160 numbers; a header and 12 rows of labels
    local rows = {}
    for line in H.read(dir .. "/ae/export/capsules.tsv"):gmatch("[^\n]+") do rows[#rows + 1] = line end
    assert.equal(12, #rows)
    local _, tabs = rows[1]:gsub("\t", "")
    assert.equal(159, tabs)
    local meta = {}
    for line in H.read(dir .. "/ae/export/metadata.tsv"):gmatch("[^\n]+") do meta[#meta + 1] = line end
    assert.equal("label\tpredicted", meta[1])
    assert.equal(13, #meta)
    -- the same capsules as the model's own
    local model, decoder = capsrun.load(dir .. "/ae/capsnet.tensors")
    model:evaluate()
    local set = capsrun.data.load("mnist", "test", {dir = H.mnist(), limit = 12})
    local v = model:forward(set.images)
    local first = {}
    for x in rows[1]:gmatch("[^\t]+") do first[#first + 1] = tonumber(x) end
    for k = 1, 160, 7 do assert.near(v:reshape(12, 160):get(1, k), first[k], 1e-5) end
    -- Python reads the safetensors file itself and runs the reference model on the same images
    T.save_tensors(dir .. "/in.tensors", {input = set.images})
    local ok = os.execute(("%s bench/safetensors_torch.py %s/ae/export/model.safetensors %s/in.tensors %s/ref.tensors")
      :format(H.python, dir, dir, dir))
    assert.is_true(ok == true)
    local ref = T.load_tensors(dir .. "/ref.tensors")
    local weights = T.load_tensors(dir .. "/ae/capsnet.tensors")
    local count = 0
    for name, t in pairs(weights) do
      if type(t) == "userdata" then
        count = count + 1
        assert.same(t:size(), ref["w." .. name]:size(), name)
        assert.equal(0, (t - ref["w." .. name]):norm(), name)   -- bit for bit
      end
    end
    assert.equal(11, count)
    local lengths = T.zeros(12, 10)
    for i = 1, 12 do for j = 1, 10 do lengths:set(i, j, v:reshape(12, 10, 16):narrow(i, 1):reshape(10, 16):narrow(j, 1):norm()) end end
    assert.is_true(H.rel(lengths, ref.lengths) < 1e-4, "lengths differ: " .. H.rel(lengths, ref.lengths))
    local recon = decoder:forward(v, lengths:argmax())
    assert.is_true(H.rel(recon, ref.recon) < 1e-4, "reconstructions differ: " .. H.rel(recon, ref.recon))
    H.rm_rf(dir)
  end)

  it("refuses what the safetensors writer cannot hold", function()
    local dir = H.tmpdir()
    assert.error_matches(function() T.save_safetensors(dir .. "/x", {a = "text"}) end, "name = tensor pairs expected")
    assert.error_matches(function() T.save_safetensors(dir .. "/x", {a = T.zeros(2)}, {k = 1}) end, "string = string metadata")
    assert.error_matches(function() T.save_safetensors(dir .. "/none/x", {a = T.zeros(2)}) end, "save_safetensors: ")
    assert.is_false(H.exists(dir .. "/x"))
    -- a tiny file, byte for byte: header size, JSON padded to 8, little-endian floats
    T.save_safetensors(dir .. "/t.safetensors", {b = T.new{1, 2}, a = T.new{{0.5}}}, {k = 'v"'})
    local bytes = H.read(dir .. "/t.safetensors")
    local n = string.unpack("<I8", bytes)
    local header = bytes:sub(9, 8 + n)
    assert.equal(0, n % 8)
    assert.equal('{"__metadata__":{"k":"v\\""},"a":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},' ..
      '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', (header:gsub(" +$", "")))
    local a, b1, b2, after = string.unpack("<fff", bytes, 9 + n)
    assert.same({0.5, 1, 2}, {a, b1, b2})
    assert.equal(#bytes + 1, after)   -- nothing after the data
    H.rm_rf(dir)
  end)
end)
