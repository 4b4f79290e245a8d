-- affine_figure.lua: the affine test digits of affine.lua with every trained
-- model's prediction under each digit, in one figure: the label in black,
-- then one line per model, green where it is right and red where it is
-- wrong. The affine set is rebuilt from MNIST test with the same
-- --affine-seed (and --limit) as the runs, so the digits are the ones they
-- were measured on; each model's accuracy on the whole set is printed.
-- --pick chooses the digits shown: the first ones, those where the models
-- disagree (where one model's robustness shows), or those every model gets
-- wrong. It also prints each model's accuracy per range of rotation, shear,
-- scale and translation (canvas.by_transform), to see which transform breaks
-- which model.
--
--   capsrun experiments/affine_figure.lua --data ../shared/data/mnist \
--       --models capsnet=runs/affine/model.tensors,cnn=runs/affine-cnn/cnn.tensors --pick disagree
local capsrun = require "capsrun"
local experiment = require "capsrun.experiment"
local canvas = require "capsrun.canvas"

local opts = capsrun.cli.parse(arg, {
  {"models", "string", nil, "NAME=WEIGHTS,NAME=WEIGHTS,...: weights files written by affine.lua (--save)"},
  {"data", "string", nil, "folder with MNIST's files (as affine.lua's --data)"},
  {"dataset", "string", "mnist", "mnist or fashion (as the runs)", choices = {"mnist", "fashion"}},
  {"limit", "int", nil, "as the runs' --limit: the affine set is made from the first N/6 test digits", min = 1},
  {"affine-seed", "int", 2017, "as the runs' --affine-seed"},
  {"n", "int", 30, "digits in the figure (at most 200)", min = 1},
  {"pick", "string", "first", "first, disagree (the models disagree) or wrong (every model is wrong)",
    choices = {"first", "disagree", "wrong"}},
  {"cols", "int", 10, "digits per row", min = 1},
  {"out", "string", "runs/affine-figure.png", "the figure (PNG)"},
  {"threads", "int", nil, "threads for OpenMP and OpenBLAS (default: all cores)", min = 1},
}, "usage: capsrun experiments/affine_figure.lua --models NAME=WEIGHTS,... [options]")

if not opts.models then experiment.fail(2, "affine_figure: --models NAME=WEIGHTS,... expected") end
if opts.threads then capsrun.native.set_threads(opts.threads) end
if opts.n > 200 then experiment.fail(2, "affine_figure: --n: at most 200 digits, got " .. opts.n) end
local models = {}
for item in opts.models:gmatch("[^,]+") do
  local name, path = item:match("^([%w_%-]+)=(.+)$")
  if not name then experiment.fail(2, ("affine_figure: --models: '%s' is not NAME=WEIGHTS"):format(item)) end
  local model, _, cfg = experiment.try("affine_figure: " .. name, capsrun.train.load_model, path)
  local input = cfg.input
  if input[1] ~= 1 or input[2] ~= 40 or input[3] ~= 40 then
    experiment.fail(1, ("affine_figure: %s: %s takes %dx%dx%d inputs, affine.lua's 1x40x40 expected"):format(
      name, path, input[1], input[2], input[3]))
  end
  models[#models + 1] = {name = name, clf = capsrun.train.classifier(model)}
end

local ok, test = pcall(capsrun.data.load, opts.dataset, "test",
  {dir = opts.data, limit = opts.limit and math.max(1, opts.limit // 6)})
if not ok then experiment.fail(1, "affine_figure: " .. tostring(test)) end
local affine = canvas.affine_test_set(test, opts.affine_seed)

local labels = {}
for i = 1, affine.n do labels[i] = math.tointeger(affine.labels:get(i)) end
for _, m in ipairs(models) do
  m.pred = capsrun.train.predict(m.clf, affine, 100)
  m.right = {}   -- m.right[i]: the model gets digit i right
  local count = 0
  for i = 1, affine.n do
    m.right[i] = m.pred[i] == labels[i]
    if m.right[i] then count = count + 1 end
  end
  m.acc = count / affine.n
  m.by_transform = canvas.by_transform(affine.params, m.right)
  print(("%s: %.2f%% of %d affine test digits (seed %d)"):format(m.name, 100 * m.acc, affine.n, opts.affine_seed))
end

-- where each model breaks: its accuracy over the digits whose transform falls in each range
print("accuracy by transform: range, digits, then each model's accuracy on them")
for r, row in ipairs(models[1].by_transform) do
  local range = row.open and ("%g+"):format(row.lo) or ("%g-%g"):format(row.lo, row.hi)
  local cells = {}
  for k, m in ipairs(models) do
    local b = m.by_transform[r]
    cells[k] = ("%s %s"):format(m.name, b.n > 0 and ("%.1f%%"):format(100 * b.right / b.n) or "-")
  end
  print(("  %-16s %-9s %5d  %s"):format(row.kind, range, row.n, table.concat(cells, "  ")))
end

local function wanted(i)
  if opts.pick == "first" then return true end
  local all_wrong, differ = true, false
  for _, m in ipairs(models) do
    if m.right[i] then all_wrong = false end
    if m.pred[i] ~= models[1].pred[i] then differ = true end
  end
  if opts.pick == "wrong" then return all_wrong end
  return differ
end
local shown = {}
for i = 1, affine.n do
  if #shown == opts.n then break end
  if wanted(i) then shown[#shown + 1] = i end
end
if #shown == 0 then experiment.fail(1, ("affine_figure: no digit where --pick %s holds"):format(opts.pick)) end

local index = capsrun.zeros(#shown)
local captions = {}
for k, i in ipairs(shown) do
  index:set(k, i - 1)
  local p = affine.params[i]
  local lines, said = {("%d: %+.0f deg"):format(labels[i], p[1])}, {}
  for _, m in ipairs(models) do
    said[#said + 1] = ("%s %d"):format(m.name, m.pred[i])
    lines[#lines + 1] = {said[#said], color = m.right[i] and "green" or "red"}
  end
  captions[k] = lines
  print(("  digit %d: label %d, %s (rotation %+.0f deg, shear %+.2f, scale %.2f x %.2f)"):format(i - 1, labels[i],
    table.concat(said, ", "), p[1], p[2], p[3], p[4]))
end
local names = {}
for _, m in ipairs(models) do names[#names + 1] = ("%s %.1f%%"):format(m.name, 100 * m.acc) end
local title = ("affine test digits (seed %d, %s): %s"):format(opts.affine_seed, opts.pick, table.concat(names, ", "))
experiment.mkdir_p(experiment.dirname(opts.out))
experiment.try("affine_figure", capsrun.write_png_captioned, opts.out, capsrun.index_select(affine.images, index), captions,
  {cols = opts.cols, scale = 2, title = title})
print(("%d digits (%s) in %s"):format(#shown, opts.pick, opts.out))
