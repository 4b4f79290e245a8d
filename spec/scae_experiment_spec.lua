-- Unsupervised classification with the stacked capsule autoencoder:
-- k-means and the linear probe (capsrun.scae.cluster) on hand-made points,
-- the figures' helpers, and experiments/scae.lua end to end on generated
-- digits (train, measure, checkpoint, resume, figures).
local capsrun = require "capsrun"
local H = require "spec.helpers"
local T = capsrun.native
local cluster = require "capsrun.scae.cluster"
local figures = require "capsrun.scae.figures"
local match = require "capsrun.scae.match"

-- n points around k well separated centres in D dimensions, and their labels
local function blobs(n, k, D, seed)
  local g = T.generator(seed)
  local x, labels, y = T.zeros(n, D):normal_(g):mul_(0.2), {}, T.zeros(n)
  for i = 1, n do
    local c = (i * 7) % k
    labels[i] = c
    y:set(i, c)
    x:set(i, c % D + 1, x:get(i, c % D + 1) + 2 + c // D)
  end
  return x, labels, y
end

describe("cluster.kmeans", function()
  it("finds well separated clusters, whatever names it gives them", function()
    local x, labels = blobs(300, 5, 5, 1)
    local clusters, inertia = cluster.kmeans(x, 5, T.generator(2))
    assert.equal(300, #clusters)
    assert.equal(1, match.cluster_accuracy(clusters, labels))
    assert.is_true(inertia > 0 and inertia < 300 * 5 * 0.2, tostring(inertia))
    for _, c in ipairs(clusters) do assert.is_true(c >= 0 and c < 5) end
  end)

  it("keeps the best of its restarts: never worse than one restart", function()
    local x = T.zeros(200, 3):uniform_(T.generator(3))
    local _, one = cluster.kmeans(x, 6, T.generator(4), {restarts = 1})
    local _, five = cluster.kmeans(x, 6, T.generator(4), {restarts = 5})
    assert.is_true(five <= one + 1e-6)
  end)

  it("refuses k outside [1, N] and points that are not a matrix", function()
    assert.has_error(function() cluster.kmeans(T.zeros(4, 2), 5, T.generator(1)) end,
      "cluster.kmeans: k in [1, 4] expected, got 5")
    assert.has_error(function() cluster.kmeans(T.zeros(4), 2, T.generator(1)) end, "cluster.kmeans: points (N, D) expected")
  end)
end)

describe("cluster.linear_probe", function()
  it("separates linearly separable classes and is at chance on noise", function()
    local x, _, y = blobs(400, 4, 4, 5)
    local tx, _, ty = blobs(200, 4, 4, 6)
    assert.is_true(cluster.linear_probe(x, y, tx, ty, 4) > 0.97)
    local noise = T.zeros(400, 4):uniform_(T.generator(7))
    local acc = cluster.linear_probe(noise, y, T.zeros(200, 4):uniform_(T.generator(8)), ty, 4)
    assert.is_true(acc < 0.45, tostring(acc))
  end)
end)

describe("scae figures", function()
  it("draws the presences' embedding with a legend square per label", function()
    local x, labels = blobs(60, 3, 4, 9)
    local img, variances = figures.embedding(x, labels, 64)
    assert.same({1, 3, 64, 64}, img:size())
    assert.is_true(variances[1] >= variances[2] and variances[2] > 0)
    -- the first legend square holds label 0's colour, with a white 0 in it (a 3x5 ring: its hole keeps the colour)
    local red = figures.palette[1]
    assert.near(red[1], img:get(1, 1, 3, 3), 1e-6)
    assert.near(red[2], img:get(1, 2, 3, 3), 1e-6)
    for _, at in ipairs{{4, 5}, {4, 7}, {6, 5}, {8, 6}} do assert.equal(1, img:get(1, 2, at[1], at[2])) end
    assert.near(red[2], img:get(1, 2, 6, 6), 1e-6)
    -- the third holds a 2: its middle row is whole
    for c = 31, 33 do assert.equal(1, img:get(1, 2, 6, c)) end
    -- the paper's t-SNE instead, from a generator's start
    local timg, info = figures.embedding(x, labels, 64, "tsne", T.generator(3))
    assert.same({1, 3, 64, 64}, timg:size())
    assert.is_true(info.kl > 0 and info.kl < 2, tostring(info.kl))
    assert.error_matches(function() figures.embedding(x, labels, 64, "umap") end,
      "figures.embedding: method 'pca' or 'tsne' expected, got 'umap'")
  end)
end)

describe("scae figures: the OCAE's reconstruction", function()
  for _, templates in ipairs{"relu1", "official"} do
  it("redraws the PCAE's own reconstruction when the winning votes are the parts' poses and presences ("
      .. templates .. " templates)", function()
    local SCAE = require "capsrun.scae.SCAE"
    local m = SCAE.new{parts = 4, capsules = 2, maps = 8, features = 2, dims = 8, out_dims = 8, layers = 1,
      templates = templates, gen = T.generator(21)}
    for _, e in ipairs(m:named_parameters()) do   -- alpha templates away from their zero start
      if e.name:find("alpha") or e.name:find("mixing") then e.param:uniform_(T.generator(23), -1, 1) end
    end
    m:evaluate()
    local x = T.zeros(2, 1, 40, 40):uniform_(T.generator(22))
    m:forward(x)
    local part = m.result.part
    -- capsule 1 explains every part and votes for exactly its pose, with its presence
    local votes, post, pres = {}, T.zeros(2, 3, 4):fill_(-5), T.zeros(2, 2, 4)
    for i = 1, 6 do
      votes[i] = T.zeros(2, 2, 4)
      for b = 1, 2 do for j = 1, 4 do votes[i]:set(1, b, j, part.pose:get(b, j, i)) end end
    end
    for b = 1, 2 do for j = 1, 4 do post:set(b, 1, j, 0); pres:set(b, 1, j, part.presence:get(b, j)) end end
    m.result.object = {votes = votes, posterior = post, vote_presence = pres}
    local ocae = figures.ocae_reconstruction(m, 2)
    local rows = figures.decomposition(x, part, ocae)
    assert.same({8, 3, 40, 40}, rows:size())
    local worst, bright = 0, 0
    for b = 1, 2 do for y = 1, 40 do for xx = 1, 40 do
      local pcae, redrawn = rows:get(2 + b, 1, y, xx), rows:get(4 + b, 1, y, xx)   -- rows: input, PCAE, OCAE, parts
      assert.equal(ocae:get(b, 1, y, xx), redrawn)
      worst, bright = math.max(worst, math.abs(pcae - redrawn)), math.max(bright, pcae)
    end end end
    assert.is_true(worst < 1e-4, "largest difference " .. worst)
    assert.is_true(bright > 0.1, "a reconstruction with something in it")
  end)
  end
end)

describe("experiments/scae.lua", function()
  it("trains on colour images (an image folder of 3 channels): colour templates, figures in colour", function()
    local dir = H.tmpdir()
    local g = T.generator(9)
    for _, split in ipairs{"train", "test"} do
      for _, name in ipairs{"red", "blue"} do
        local d = ("%s/data/%s/%s"):format(dir, split, name)
        assert(os.execute("mkdir -p '" .. d .. "'"))
        for i = 1, 8 do   -- a coloured square at a random place on a dark 24x24 image
          local img = T.zeros(3, 24, 24)
          local y, x = g:random(12), g:random(12)
          for c = 1, 3 do
            local v = (name == "red") == (c == 1) and 0.9 or 0.1
            for yy = y, y + 8 do for xx = x, x + 8 do img:set(c, yy, xx, v) end end
          end
          T.write_png_grid(("%s/%d.png"):format(d, i), img, {spacing = 0, rgb = true})
        end
      end
    end
    local code, out = H.run(("experiments/scae.lua --data %s/data --canvas 28 --max-shift 2 --batch 8 --epochs 1 "
      .. "--parts 3 --capsules 2 --maps 8 --template 7 --eval-examples 10 --probe-examples 10 --threads 1 "
      .. "--embedding pca --save %s/out/s.tensors"):format(dir, dir))
    assert.equal(0, code, out)
    assert.truthy(out:find("epoch 1  loss [%d.]+"), out)
    local templates = capsrun.read_png(dir .. "/out/templates.png", 3)
    assert.truthy(templates:size(2) > 7 * 4)
    assert.truthy(capsrun.read_png(dir .. "/out/parts.png", 3))
    local saved = T.load_tensors(dir .. "/out/s.tensors")
    assert.same({9, 7, 7}, saved["pcae.head.templates"]:size())    -- 3 parts x 3 channels
    assert.same({8, 3, 3, 3}, saved["pcae.cnn.1.weight"]:size())   -- the first convolution reads 3 channels
    -- the official decoder (a colour per channel) with the templates fed to the object encoder, explaining
    -- the images' Sobel edges (the official prep='sobel' for natural images)
    local code2, out2 = H.run(("experiments/scae.lua --data %s/data --canvas 28 --max-shift 2 --batch 8 --epochs 1 "
      .. "--parts 3 --capsules 2 --maps 8 --template 7 --eval-examples 10 --probe-examples 10 --threads 1 "
      .. "--embedding pca --templates official --feed-templates yes --target sobel --save %s/out2/s.tensors")
      :format(dir, dir))
    assert.equal(0, code2, out2)
    assert.truthy(out2:find("16 features, explaining Sobel edges)", 1, true), out2)
    assert.truthy(out2:find("warning: --target sobel with images of 24x24 on a 28x28 canvas", 1, true), out2)
    assert.truthy(capsrun.read_png(dir .. "/out2/parts.png", 3))
    assert.truthy(out2:find("SetTransformer(170 -> ", 1, true), out2)   -- 7 + 16 features + 3 x 7 x 7 template values
    assert.same({32, 3}, T.load_tensors(dir .. "/out2/s.tensors")["pcae.head.color.2.weight"]:size())
    H.rm_rf(dir)
  end)

  it("continues a SIGKILLed run to bit-identical parameters (placements, noise and the batch's k-means)", function()
    local dir = H.tmpdir()
    local function args(rest)
      return ("experiments/scae.lua --data %s --limit 96 --batch 16 --epochs 2 --parts 4 --capsules 3 --maps 8 "
        .. "--eval-examples 10 --probe-examples 16 --threads 1 --embedding pca %s"):format(H.mnist(), rest)
    end
    local code, out = H.run(args("--save " .. dir .. "/straight/s.tensors"))
    assert.equal(0, code, out)
    local ck = dir .. "/killed/ck"
    local state = H.run_killed_mid_epoch(args(("--save %s/killed/s.tensors --checkpoint %s --checkpoint-every 2")
      :format(dir, ck)), ck, dir .. "/killed.log")
    assert.truthy(state, "no mid-epoch checkpoint appeared")
    assert.is_false(H.exists(dir .. "/killed/s.tensors"), "the run finished before it was killed")
    local code2, out2 = H.run(("experiments/scae.lua --checkpoint %s --resume --threads 1"):format(ck))
    assert.equal(0, code2, out2)
    local ok, which = H.same_tensors(T.load_tensors(dir .. "/straight/s.tensors"), T.load_tensors(dir .. "/killed/s.tensors"))
    assert.is_true(ok, "parameters differ: " .. tostring(which))
    -- the batches' own k-means accuracy too: seeded by the step, not drawn from the training generator
    local a, b = capsrun.plot.read_csv(dir .. "/straight/metrics.csv"), capsrun.plot.read_csv(dir .. "/killed/metrics.csv")
    assert.equal(a.rows[1].train_acc, b.rows[1].train_acc)
    assert.equal(a.rows[2].test_acc, b.rows[2].test_acc)
    H.rm_rf(dir)
  end)

  it("trains with the official script's templates (sigmoid, coloured, alpha-mixed), fed to the object encoder", function()
    local dir = H.tmpdir()
    local code, out = H.run(("experiments/scae.lua --data %s --limit 64 --batch 32 --parts 4 --capsules 3 --maps 8 "
      .. "--eval-examples 12 --probe-examples 16 --threads 1 --epochs 1 --templates official --embedding pca "
      .. "--feed-templates yes --posterior-mass official --save %s/s.tensors"):format(H.mnist(), dir))
    assert.equal(0, code, out)
    assert.truthy(out:find("3 object capsules, the released code's part mass))", 1, true), out)
    assert.truthy(out:find("11x11 official (sigmoid, colour, alpha) templates", 1, true), out)
    assert.truthy(out:find("ImageOCAE(4 parts with their templates -> SetTransformer(144 -> ", 1, true), out)
    assert.truthy(out:find("epoch 1  loss [%d.]+"), out)
    assert.truthy(capsrun.read_png(dir .. "/parts.png", 3))
    H.rm_rf(dir)
  end)

  it("trains without labels, clusters and probes, resumes, and draws its figures", function()
    local dir = H.tmpdir()
    local base = ("experiments/scae.lua --data %s --limit 96 --batch 32 --parts 6 --capsules 5 --maps 8 "
      .. "--eval-examples 16 --probe-examples 32 --threads 1 --optimizer rmsprop --lr 1e-4 --save %s/s.tensors "
      .. "--checkpoint %s/ck"):format(H.mnist(),
      dir, dir)
    local code, out = H.run(base .. " --epochs 1")
    assert.equal(0, code, out)
    assert.truthy(out:find("epoch 1  loss [%d.%-]+  train k%-means acc [%d.]+%%  test k%-means acc [%d.]+%%  probe acc "
      .. "[%d.]+%%  posterior k%-means acc [%d.]+%%  posterior probe acc [%d.]+%%"), out)
    assert.truthy(out:find("batch 32, RMSProp lr 0.0001", 1, true), out)
    assert.truthy(out:find("ImageOCAE(6 parts -> SetTransformer(23 -> ", 1, true), out)   -- no templates by default
    local code2, out2 = H.run(base .. " --epochs 2 --resume")
    assert.equal(0, code2, out2)
    assert.truthy(out2:find("resumed from .*: epoch 2"), out2)
    -- resumed after its last epoch: nothing to train, the weights and figures written again
    os.remove(dir .. "/presences.png")
    os.remove(dir .. "/posterior.png")
    -- and it measures the checkpoint, on as many images as this command asks (not the run's 16)
    local code3, out3 = H.run(base .. " --epochs 2 --resume --eval-examples 12")
    assert.equal(0, code3, out3)
    assert.truthy(out3:find("resumed from .*: epoch 3"), out3)
    assert.truthy(out3:find("measured after step 6 on 12 test images: k%-means acc [%d.]+%%  probe acc [%d.]+%%  "
      .. "posterior k%-means acc [%d.]+%%  posterior probe acc [%d.]+%% %(probes fitted on 32 training images%)"), out3)
    assert.truthy(capsrun.read_png(dir .. "/presences.png", 3))
    assert.truthy(capsrun.read_png(dir .. "/posterior.png", 3))
    local t = capsrun.plot.read_csv(dir .. "/metrics.csv")
    assert.equal(2, #t.rows)
    for _, r in ipairs(t.rows) do
      assert.is_true(r.test_acc > 0 and r.test_acc <= 1 and r.probe_acc >= 0 and r.probe_acc <= 1)
      -- the official evaluation's second view: the part mass each capsule explains
      assert.is_true(r.posterior_kmeans_acc > 0 and r.posterior_kmeans_acc <= 1, tostring(r.posterior_kmeans_acc))
      assert.is_true(r.posterior_probe_acc >= 0 and r.posterior_probe_acc <= 1, tostring(r.posterior_probe_acc))
      -- the loss's terms, logged apart, add up to the test loss with the official weights
      local sum = r.test_image_nll + r.test_part_nll + 10 * r.test_dynamic_l2 + 2 * r.test_prior_within
        + 0.35 * r.test_prior_between + 0.7 * r.test_posterior_within - 0.2 * r.test_posterior_between
      assert.is_true(math.abs(sum - r.test_loss) < 1e-3 * math.abs(r.test_loss) + 1e-3, ("%g against %g"):format(sum, r.test_loss))
      assert.is_true(r.test_image_nll ~= 0 and r.test_prior_within > 0, "terms measured")
    end
    assert.is_nil(out:find("test image nll"), "the terms go to metrics.csv, not the epoch line")
    assert.truthy(T.load_tensors(dir .. "/s.tensors").config:find("kind=scae", 1, true))
    -- figures: 6 templates; 3 rows of 8 images of 40x40 (input, reconstruction, parts), captioned
    local parts = capsrun.read_png(dir .. "/parts.png", 3)
    assert.is_true(parts:size(2) > 4 * 40 * 3, "taller than the grid: captions and a title")
    assert.truthy(capsrun.read_png(dir .. "/templates.png", 1))
    assert.truthy(capsrun.read_png(dir .. "/presences.png", 3))
    assert.truthy(capsrun.read_png(dir .. "/posterior.png", 3))
    H.rm_rf(dir)
  end)

  it("refuses a canvas too small for the digits' shifts, saying which options to change", function()
    local code, out = H.run(("experiments/scae.lua --data %s --limit 32 --canvas 30 --epochs 1"):format(H.mnist()))
    assert.equal(1, code, out)
    assert.truthy(out:find("--canvas 30 is too small for 28x28 images moved by up to --max-shift 6 pixels "
      .. "(it needs at least 40)", 1, true), out)
    assert.is_nil(out:find("traceback"), out)
  end)
end)
