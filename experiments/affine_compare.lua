-- affine_compare.lua: runs of affine.lua compared at equal expanded-MNIST
-- accuracy, as the paper compares CapsNet and its CNN (99.23% and 99.22%
-- expanded; 79% and 66% on affNIST). Reads each run's metrics CSV (test_acc,
-- the expanded-MNIST test accuracy, and affine_acc per epoch), prints them,
-- and for every epoch of the first run the affine accuracy of each other run
-- at the same expanded accuracy: linear between the two epochs around it,
-- "not reached" outside the other run's range (never extrapolated). Draws
-- affine against expanded accuracy, one line per run.
--
--   capsrun experiments/affine_compare.lua --runs capsnet=runs/affine/metrics.csv,cnn=runs/affine-cnn/metrics.csv
local capsrun = require "capsrun"
local experiment = require "capsrun.experiment"

local opts = capsrun.cli.parse(arg, {
  {"runs", "string", nil, "NAME=METRICS.csv,NAME=METRICS.csv,...: the first is the reference"},
  {"out", "string", "runs/affine-compare.png", "the figure: affine against expanded accuracy"},
}, "usage: capsrun experiments/affine_compare.lua --runs NAME=CSV,NAME=CSV [--out PNG]")

--- points(path) -> {{epoch, x = expanded %, y = affine %}, ...} of the epochs that have both
local function points(name, path)
  local ok, t = pcall(capsrun.plot.read_csv, path)
  if not ok then experiment.fail(1, ("affine_compare: %s: %s"):format(name, t)) end
  local has = {}
  for _, c in ipairs(t.columns) do has[c] = true end
  if not (has.test_acc and has.affine_acc) then
    experiment.fail(1, ("affine_compare: %s: %s has no test_acc and affine_acc columns (metrics of affine.lua expected)")
      :format(name, path))
  end
  local out = {}
  for _, r in ipairs(t.rows) do
    if r.test_acc and r.affine_acc then out[#out + 1] = {epoch = r.epoch, x = 100 * r.test_acc, y = 100 * r.affine_acc} end
  end
  if #out == 0 then experiment.fail(1, ("affine_compare: %s: no epoch of %s has an affine accuracy"):format(name, path)) end
  return out
end

--- at(pts, x) -> the affine accuracy at expanded accuracy x, linear between
-- the nearest measured points on either side; nil outside their range
local function at(pts, x)
  local sorted = {table.unpack(pts)}
  table.sort(sorted, function(a, b) return a.x < b.x end)
  for i = 1, #sorted do
    local a, b = sorted[i], sorted[i + 1]
    if a.x == x then return a.y end
    if b and a.x < x and x <= b.x then return a.y + (b.y - a.y) * (x - a.x) / (b.x - a.x) end
  end
  return nil
end

local runs = {}
for item in (opts.runs or ""):gmatch("[^,]+") do
  local name, path = item:match("^([^=]+)=(.+)$")
  if not name then experiment.fail(2, ("affine_compare: --runs: NAME=CSV expected, got '%s'"):format(item)) end
  runs[#runs + 1] = {name = name, pts = points(name, path)}
end
if #runs < 1 then experiment.fail(2, "affine_compare: --runs NAME=CSV[,NAME=CSV...] expected") end

for _, r in ipairs(runs) do
  print(("%s: epoch, expanded-MNIST test accuracy, affine test accuracy"):format(r.name))
  for _, p in ipairs(r.pts) do print(("  %3d  %6.2f%%  %6.2f%%"):format(p.epoch, p.x, p.y)) end
end
local ref = runs[1]
for k = 2, #runs do
  local other = runs[k]
  print(("at %s's expanded accuracy, affine accuracy of %s and of %s:"):format(ref.name, ref.name, other.name))
  for _, p in ipairs(ref.pts) do
    local y = at(other.pts, p.x)
    print(("  %6.2f%%  %s %6.2f%%  %s %s"):format(p.x, ref.name, p.y, other.name,
      y and ("%6.2f%%"):format(y) or "not reached"))
  end
end

local series = {}
for _, r in ipairs(runs) do
  local sorted = {table.unpack(r.pts)}
  table.sort(sorted, function(a, b) return a.x < b.x end)
  local xs, ys = {}, {}
  for i, p in ipairs(sorted) do xs[i], ys[i] = p.x, p.y end
  series[#series + 1] = {label = r.name, x = xs, y = ys}
end
if #series > 8 then experiment.fail(2, "affine_compare: at most 8 runs in one figure") end
experiment.try(nil, experiment.mkdir_p, experiment.dirname(opts.out))
experiment.try("cannot draw the figure", capsrun.native.plot_curves, opts.out, {width = 520, height = 400, panels = {
  {title = "affine robustness at equal accuracy", xlabel = "expanded-MNIST test accuracy (%)",
   ylabel = "affine test accuracy (%)", series = series}}})
print("figure in " .. opts.out)
