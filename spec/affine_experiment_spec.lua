-- experiments/affine.lua end to end on generated digits: trains until its
-- target, reports the affine-set accuracy, writes the figure.
local capsrun = require "capsrun"
local H = require "spec.helpers"

describe("experiments/affine.lua", function()
  it("stops at the target and measures the affine set, for CapsNet, the CNN and the EM model", function()
    local dir = H.tmpdir()
    local accuracies = {}
    for _, model in ipairs{"capsnet", "cnn", "em"} do
      local code, out = H.run(("experiments/affine.lua --model %s --data %s --limit 96 --epochs 3 --batch 16 " ..
        "--routing-iters 1 --target 0 --precision f32 --conv-channels 16 --primary-types 4 --em-sizes 8,4,4,4 " ..
        "--em-iters 1 --save %s/%s/m.tensors")
        :format(model, H.mnist(), dir, model))
      assert.equal(0, code, out)
      assert.truthy(out:find("stopping after epoch 1: expanded-MNIST test accuracy reached 0.00%", 1, true), out)
      assert.truthy(out:find("affine test accuracy %d+%.%d%d%% %(" .. model .. "%)"), out)
      -- 2 rows of 10 digits at scale 2, each with 3 caption lines (label, prediction, transformation), and a title
      local size = capsrun.read_png(dir .. "/" .. model .. "/affine.png"):size()
      assert.equal(6 + 10 * (80 + 6), size[2])
      assert.truthy(size[1] >= 6 + 24 + 2 * (80 + 3 * 14 + 4 + 6), table.concat(size, "x"))
      assert.truthy(out:find("0: label %d, predicted %d %(rotation [%+%-]%d+ deg"), out)
      -- the affine accuracy after every epoch, in the CSV and the curves, is the one reported at the end
      local final = out:match("affine test accuracy (%d+%.%d%d)%%")
      accuracies[model] = final
      assert.truthy(out:find("epoch 1 .* affine acc " .. final:gsub("%.", "%%.") .. "%%"), out)
      local t = capsrun.plot.read_csv(dir .. "/" .. model .. "/metrics.csv")
      assert.equal("affine_acc", t.columns[#t.columns])
      assert.near(tonumber(final), 100 * t.rows[1].affine_acc, 0.006)
      assert.is_true(H.exists(dir .. "/" .. model .. "/curves.png"))
    end
    -- the three models in one figure (affine_figure.lua): the same affine digits, so the same accuracies
    local fig = dir .. "/fig.png"
    local models = ("capsnet=%s/capsnet/m.tensors,cnn=%s/cnn/m.tensors,em=%s/em/m.tensors"):format(dir, dir, dir)
    local code, out = H.run(("experiments/affine_figure.lua --data %s --limit 96 --models %s --n 12 --cols 6 --out %s")
      :format(H.mnist(), models, fig))
    assert.equal(0, code, out)
    for _, model in ipairs{"capsnet", "cnn", "em"} do
      local acc = accuracies[model]:gsub("%.", "%%.")
      assert.truthy(out:find(model .. ": " .. acc .. "%% of 16 affine test digits %(seed 2017%)"), out)
    end
    assert.truthy(out:find("12 digits (first) in " .. fig, 1, true), out)
    -- the accuracy per range of each transform: every kind's ranges hold all 16 digits, and
    -- their right digits add up to each model's accuracy on the whole set
    assert.truthy(out:find("accuracy by transform", 1, true), out)
    local kinds = {}
    for kind, n, cells in out:gmatch("\n  (%a[%a ()]-) +[%d.]+[-+][%d.]* +(%d+)  ([^\n]*)") do
      kinds[kind] = kinds[kind] or {n = 0, rows = 0, right = {}}
      local k = kinds[kind]
      k.n, k.rows = k.n + tonumber(n), k.rows + 1
      for name, acc in cells:gmatch("(%a+) ([%d.]+)%%") do k.right[name] = (k.right[name] or 0) + tonumber(acc) / 100 * tonumber(n) end
    end
    for _, kind in ipairs{"rotation (deg)", "shear", "smaller scale", "translation (px)"} do
      local k = kinds[kind]
      assert.truthy(k and k.rows == 4 and k.n == 16, out)
      for _, model in ipairs{"capsnet", "cnn", "em"} do
        assert.near(tonumber(accuracies[model]) / 100 * 16, k.right[model] or 0, 0.05, out)
      end
    end
    -- 6 cells of 80 pixels (40 x 2) and 6 of spacing; a title, and rows of 80 + 4 caption lines of 14
    assert.same({3, 6 + 24 + 2 * (80 + 4 * 14 + 4 + 6), 6 + 6 * (80 + 6)}, capsrun.read_png(fig, 3):size())
    -- the captions are coloured: where every model is wrong, red and no green
    local function colours(path)
      local img, red, green = capsrun.read_png(path, 3), 0, 0
      for y = 1, img:size(2) do
        for x = 1, img:size(3) do
          local r, g, b = img:get(1, y, x), img:get(2, y, x), img:get(3, y, x)
          if r > 0.6 and g < 0.35 and b < 0.35 then red = red + 1 end
          if g > 0.4 and r < 0.3 and b < 0.3 then green = green + 1 end
        end
      end
      return red, green
    end
    code, out = H.run(("experiments/affine_figure.lua --data %s --limit 96 --models %s --pick wrong --out %s")
      :format(H.mnist(), models, fig))
    if code == 0 then
      local red, green = colours(fig)
      assert.truthy(red > 0 and green == 0, ("red %d, green %d"):format(red, green))
    else
      assert.truthy(out:find("no digit where --pick wrong holds", 1, true), out)
    end
    -- each digit shown is listed, and holds what --pick asked for
    local function listed(text)
      local rows = {}
      for i, label, preds in text:gmatch("digit (%d+): label (%d), ([%w ,]-) %(rotation") do
        local row = {index = tonumber(i), label = tonumber(label), preds = {}}
        for p in preds:gmatch("%a+ (%d)") do row.preds[#row.preds + 1] = tonumber(p) end
        rows[#rows + 1] = row
      end
      return rows
    end
    for _, pick in ipairs{"first", "disagree", "wrong"} do
      code, out = H.run(("experiments/affine_figure.lua --data %s --limit 96 --models %s --pick %s --n 5 --out %s")
        :format(H.mnist(), models, pick, fig))
      local rows = listed(out)
      if code ~= 0 then
        assert.truthy(pick ~= "first" and out:find("no digit where --pick " .. pick .. " holds", 1, true), out)
      else
        assert.truthy(#rows >= 1 and #rows <= 5, out)
        for k, r in ipairs(rows) do
          assert.equal(3, #r.preds, out)
          if pick == "first" then assert.equal(k - 1, r.index) end
          if pick == "disagree" then assert.truthy(r.preds[1] ~= r.preds[2] or r.preds[1] ~= r.preds[3], out) end
          if pick == "wrong" then for _, p in ipairs(r.preds) do assert.are_not.equal(r.label, p) end end
        end
      end
    end
    code, out = H.run(("experiments/affine_figure.lua --data %s --limit 96 --models caps=%s/capsnet/m.tensors --out %s")
      :format(H.mnist(), dir, fig))
    assert.equal(0, code, out)
    local red, green = colours(fig)
    assert.truthy(red + green > 0)
    for args, msg in pairs{["--models caps"] = "'caps' is not NAME=WEIGHTS",
                           ["--models caps=" .. dir .. "/none.tensors"] = "affine_figure: caps: ",
                           ["--models caps=" .. dir .. "/capsnet/m.tensors --n 500"] = "at most 200 digits",
                           [""] = "--models NAME=WEIGHTS"} do
      code, out = H.run(("experiments/affine_figure.lua --data %s --limit 96 %s"):format(H.mnist(), args))
      assert.is_true(code == 1 or code == 2, out)
      assert.truthy(out:find(msg, 1, true), out)
      assert.falsy(out:find("traceback", 1, true), out)
    end
    -- measuring saved weights only, with --epochs 0
    code, out = H.run(("experiments/affine.lua --data %s --limit 96 --epochs 0 --routing-iters 1 " ..
      "--precision f32 --conv-channels 16 --primary-types 4 --load %s/capsnet/m.tensors --save %s/again/m.tensors")
      :format(H.mnist(), dir, dir))
    assert.equal(0, code, out)
    assert.truthy(out:find("expanded%-MNIST test accuracy %d+%.%d%d%%, affine test accuracy %d+%.%d%d%%"), out)
    H.rm_rf(dir)
  end)

  it("compares runs at equal expanded accuracy (affine_compare.lua), interpolating, never extrapolating", function()
    local dir = H.tmpdir()
    H.write(dir .. "/caps.csv", "epoch,test_acc,affine_acc\n1,0.97,0.80\n2,0.98,0.84\n3,0.99,nan\n")
    H.write(dir .. "/cnn.csv", "epoch,test_acc,affine_acc\n1,0.96,0.70\n2,0.975,0.76\n")
    local code, out = H.run(("experiments/affine_compare.lua --runs caps=%s/caps.csv,cnn=%s/cnn.csv --out %s/c.png")
      :format(dir, dir, dir))
    assert.equal(0, code, out)
    -- 97% lies between the CNN's 96% (70%) and 97.5% (76%): 70 + 6 * (1 / 1.5) = 74%; 98% is beyond its range
    assert.truthy(out:find("97.00%  caps  80.00%  cnn  74.00%", 1, true), out)
    assert.truthy(out:find("98.00%  caps  84.00%  cnn not reached", 1, true), out)
    assert.falsy(out:find("99.00%", 1, true), out)              -- the epoch without an affine accuracy
    assert.same({400, 520}, capsrun.read_png(dir .. "/c.png"):size())
    H.write(dir .. "/plain.csv", "epoch,test_acc\n1,0.97\n")
    for args, msg in pairs{["--runs caps=" .. dir .. "/plain.csv"] = "has no test_acc and affine_acc columns",
                           ["--runs caps"] = "NAME=CSV expected, got 'caps'",
                           ["--runs caps=" .. dir .. "/missing.csv"] = "caps: ",
                           [""] = "--runs NAME=CSV"} do
      code, out = H.run("experiments/affine_compare.lua " .. args)
      assert.is_true(code == 1 or code == 2, out)
      assert.truthy(out:find(msg, 1, true), out)
    end
    H.rm_rf(dir)
  end)

  it("keeps a resumed run's older metrics rows, padding the columns they lack, and still draws the curves", function()
    local experiment = require "capsrun.experiment"
    local dir = H.tmpdir()
    local path = dir .. "/metrics.csv"
    H.write(path, "epoch,loss,train_acc,test_acc\n1,0.5,0.8,0.9\n2,0.4,0.85,0.92\n3,0.3,0.9,0.95\n")
    local f = experiment.open_metrics(path, {"epoch", "loss", "train_acc", "test_acc", "affine_acc"}, 3)
    f:write("3,0.2,0.95,0.97,0.81\n"); f:close()
    assert.equal("epoch,loss,train_acc,test_acc,affine_acc\n1,0.5,0.8,0.9,nan\n2,0.4,0.85,0.92,nan\n" ..
      "3,0.2,0.95,0.97,0.81\n", H.read(path))
    local t = capsrun.plot.read_csv(path)
    assert.is_nil(t.rows[1].affine_acc)
    assert.equal(0.81, t.rows[3].affine_acc)
    capsrun.plot.metrics(path, dir .. "/curves.png")   -- the missing values leave a gap, not an error
    assert.same({360, 900}, capsrun.read_png(dir .. "/curves.png"):size())
    H.rm_rf(dir)
  end)
end)
