-- compare_runs.lua: several runs' metrics side by side, one panel per
-- column (test_acc, probe_acc, loss, ...), each run a curve, against epochs
-- or training steps, with reference lines (a paper's number) if asked.
--
--   capsrun experiments/compare_runs.lua --columns test_acc,probe_acc --steps-per-epoch 469 \
--       --line "98.7=paper (k-means)" --out runs/compare.png  B=runs/scae_b/metrics.csv C=runs/scae_c/metrics.csv
--
-- Accuracies (columns ending in _acc) are drawn in percent, on 0-100.
local capsrun = require "capsrun"
local experiment = require "capsrun.experiment"

local opts = capsrun.cli.parse(arg, {
  positional = {name = "NAME=METRICS.csv ...", help = "the runs: a label, =, the run's metrics CSV", min = 1},
  {"columns", "string", "test_acc", "comma-separated metrics columns, one panel each"},
  {"steps-per-epoch", "int", nil, "draw against training steps (epoch x this) instead of epochs", min = 1},
  {"line", "string", nil, "reference lines on the accuracy panels, VALUE=LABEL[,VALUE=LABEL] (VALUE in percent)"},
  {"title", "string", nil, "title of the figure (the panels are named by their column)"},
  {"out", "string", "runs/compare.png", "the PNG to write"},
}, "usage: capsrun experiments/compare_runs.lua [options] NAME=METRICS.csv ...")

local runs = {}
for _, a in ipairs(opts.positional) do
  local name, path = a:match("^([^=]+)=(.+)$")
  if not name then experiment.fail(2, ("compare_runs: %q: NAME=METRICS.csv expected"):format(a)) end
  local ok, t = pcall(capsrun.plot.read_csv, path)
  if not ok then experiment.fail(1, ("compare_runs: run %s: %s"):format(name, tostring(t))) end
  runs[#runs + 1] = {name = name, path = path, table = t}
end
if #runs > 7 then experiment.fail(2, "compare_runs: at most 7 runs (a panel holds 8 curves, one for a line)") end

local lines = {}
for item in (opts.line or ""):gmatch("[^,]+") do
  local v, label = item:match("^%s*([%d.eE+-]+)%s*=%s*(.-)%s*$")
  if not tonumber(v) then experiment.fail(2, ("compare_runs: --line %q: VALUE=LABEL expected"):format(item)) end
  lines[#lines + 1] = {value = tonumber(v), label = label}
end

local xlabel = opts.steps_per_epoch and "training steps" or "epoch"
local panels, xmax = {}, 0
for column in opts.columns:gmatch("[^,%s]+") do
  local percent = column:match("_acc$") ~= nil
  local panel = {title = (opts.title and opts.title .. ": " or "") .. column:gsub("_", " "), xlabel = xlabel,
    ylabel = percent and column:gsub("_", " ") .. " (%)" or column:gsub("_", " "), series = {},
    ylimits = percent and {0, 100} or nil}
  local found = false
  for _, r in ipairs(runs) do
    if not r.table.columns_set then
      r.table.columns_set = {}
      for _, c in ipairs(r.table.columns) do r.table.columns_set[c] = true end
    end
    local x, y = {}, {}
    if r.table.columns_set[column] then found = true
    else
      experiment.say(("compare_runs: run %s (%s) has no column %s: left out of that panel"):format(r.name, r.path, column))
    end
    for _, row in ipairs(r.table.columns_set[column] and r.table.rows or {}) do
      local v = row[column]
      if v and v == v then   -- a resumed run's missing cells: nan (read as nil)
        x[#x + 1] = row.epoch * (opts.steps_per_epoch or 1)
        y[#y + 1] = percent and 100 * v or v
        xmax = math.max(xmax, x[#x])
      end
    end
    panel.series[#panel.series + 1] = {label = r.name, x = x, y = y}   -- empty: each run keeps its colour
  end
  if not found then
    local r = runs[1]
    experiment.fail(1, ("compare_runs: no run has the column %s; run %s (%s) has: %s"):format(column, r.name, r.path,
      table.concat(r.table.columns, ", ")))
  end
  panels[#panels + 1] = panel
end
if #panels == 0 then experiment.fail(2, "compare_runs: --columns names no column") end
for _, p in ipairs(panels) do
  if p.ylimits then
    for _, l in ipairs(lines) do
      if #p.series < 8 then p.series[#p.series + 1] = {label = l.label, x = {0, xmax}, y = {l.value, l.value}} end
    end
  end
end
experiment.try(nil, experiment.mkdir_p, experiment.dirname(opts.out))
experiment.try("cannot draw the figure", capsrun.native.plot_curves, opts.out,
  {width = 520 * #panels, height = 380, panels = panels})
print(("compare_runs: %d runs, %d panels -> %s"):format(#runs, #panels, opts.out))
