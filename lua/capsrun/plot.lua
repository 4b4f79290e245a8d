--- Training curves: reads a metrics CSV (as the experiments write, one row
-- per epoch) and draws loss and accuracy against epoch with cairo.
--   capsrun.plot.metrics("runs/classify/metrics.csv", "runs/classify/curves.png")
local native = require "capsrun.native"

local plot = {}

--- read_csv(path) -> {columns = {...}, rows = {{col = number, ...}, ...}}
function plot.read_csv(path)
  local f, err = io.open(path, "r")
  if not f then error("plot.read_csv: " .. err, 2) end
  local header = f:read("l")
  if not header then f:close(); error("plot.read_csv: " .. path .. " is empty", 2) end
  local columns = {}
  for c in header:gmatch("[^,]+") do columns[#columns + 1] = c end
  local rows, n = {}, 1
  for line in f:lines() do
    n = n + 1
    local row, k = {}, 0
    for v in line:gmatch("[^,]+") do
      k = k + 1
      row[columns[k] or k] = tonumber(v)
    end
    if k ~= #columns then f:close(); error(("plot.read_csv: %s line %d has %d fields, the header %d"):format(path, n, k, #columns), 2) end
    rows[#rows + 1] = row
  end
  f:close()
  return {columns = columns, rows = rows}
end

local function column(rows, name, scale)
  local out = {}
  for i, r in ipairs(rows) do out[i] = (r[name] or 0 / 0) * (scale or 1) end
  return out
end

-- the accuracy-like columns in CSV order: classify's train_acc and test_acc,
-- affine.lua's affine_acc, multimnist.lua's train_/test_both_correct
local function accuracy_series(t, epochs)
  local out = {}
  for _, c in ipairs(t.columns) do
    local name = c:match("^(.-)_acc$") or (c:match("_correct$") and c)
    if name then out[#out + 1] = {label = name:gsub("_", " "), x = epochs, y = column(t.rows, c, 100)} end
  end
  return out
end

-- the reconstruction-error columns that hold a number (a CNN's are all nan)
local function recon_series(t, epochs)
  local out = {}
  for _, c in ipairs{"train_recon_mse", "test_recon_mse"} do
    local y = column(t.rows, c)
    local any = false
    for _, v in ipairs(y) do any = any or v == v end
    if any then out[#out + 1] = {label = c:match("^(%a+)_"), x = epochs, y = y} end
  end
  return out
end

--- metrics(csv_path, png_path [, title]) -> panels: loss, the accuracies
-- (every *_acc and *_correct column) and, when the CSV has one, the
-- reconstruction error against epoch; returns the panels it drew
function plot.metrics(csv_path, png_path, title)
  local t = plot.read_csv(csv_path)
  if #t.rows == 0 then error("plot.metrics: " .. csv_path .. " has no rows", 2) end
  local epochs = column(t.rows, "epoch")
  local panels = {
    {title = (title and title .. ": " or "") .. "loss", xlabel = "epoch", ylabel = "loss",
     series = {{label = "train", x = epochs, y = column(t.rows, "loss")}}},
  }
  local acc = accuracy_series(t, epochs)
  if #acc > 0 then panels[#panels + 1] = {title = "accuracy", xlabel = "epoch", ylabel = "accuracy (%)", series = acc,
                                             ylimits = {0, 100}} end
  local recon = recon_series(t, epochs)
  if #recon > 0 then
    panels[#panels + 1] = {title = "reconstruction error", xlabel = "epoch", ylabel = "mean squared error per pixel",
      series = recon}
  end
  native.plot_curves(png_path, {width = 450 * #panels, height = 360, panels = panels})
  return panels
end

return plot
