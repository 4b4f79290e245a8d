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

--- metrics(csv_path, png_path [, title]): loss and accuracy (and the
-- reconstruction error when the CSV has one) against epoch
function plot.metrics(csv_path, png_path, title)
  local t = plot.read_csv(csv_path)
  if #t.rows == 0 then error("plot.metrics: " .. csv_path .. " has no rows", 2) end
  local epochs, has = column(t.rows, "epoch"), {}
  for _, c in ipairs(t.columns) do has[c] = true end
  local panels = {
    {title = (title and title .. ": " or "") .. "loss", xlabel = "epoch", ylabel = "loss",
     series = {{label = "train", x = epochs, y = column(t.rows, "loss")}}},
    {title = "accuracy", xlabel = "epoch", ylabel = "accuracy (%)",
     series = {{label = "train", x = epochs, y = column(t.rows, "train_acc", 100)},
               {label = "test", x = epochs, y = column(t.rows, "test_acc", 100)}}},
  }
  for _, c in ipairs(t.columns) do   -- further accuracies (affine.lua's affine_acc) beside train and test
    if c:match("_acc$") and c ~= "train_acc" and c ~= "test_acc" then
      local s = panels[2].series
      s[#s + 1] = {label = c:gsub("_acc$", ""), x = epochs, y = column(t.rows, c, 100)}
    end
  end
  if has.test_recon_mse then
    panels[3] = {title = "reconstruction error", xlabel = "epoch", ylabel = "mean squared error per pixel",
      series = {{label = "train", x = epochs, y = column(t.rows, "train_recon_mse")},
                {label = "test", x = epochs, y = column(t.rows, "test_recon_mse")}}}
  end
  native.plot_curves(png_path, {width = 450 * #panels, height = 360, panels = panels})
end

return plot
