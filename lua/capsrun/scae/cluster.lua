--- cluster: the two ways the SCAE paper (section 5) reads classes out of
-- object capsules learned without labels:
--   kmeans(x (N, D), k, gen [, {restarts = 5, iterations = 100}]) ->
--     clusters (a list of N 0-based cluster indices), inertia: Lloyd's
--     algorithm from k-means++ seeds, the best of several restarts (the
--     smallest sum of squared distances); then match.cluster_accuracy
--     names each cluster by the best one-to-one matching to labels
--   linear_probe(train_x (N, D), train_y (N), test_x, test_y, classes [, {steps = 300, lr = 0.05}])
--     -> test accuracy of a softmax regression fitted on train_x with labels
--     (features standardised with the training set's mean and deviation)
local native = require "capsrun.native"
local layers = require "capsrun.layers"
local criterions = require "capsrun.criterions"
local optim = require "capsrun.optim"

local cluster = {}

local function squared_norms(rows)
  local out = {}
  for i, r in ipairs(rows) do
    local s = 0
    for _, v in ipairs(r) do s = s + v * v end
    out[i] = s
  end
  return out
end

-- k-means++: each next centre drawn with probability proportional to the squared distance to the nearest one
local function seeds(rows, k, gen)
  local n, D = #rows, #rows[1]
  local centres = {rows[gen:random(n)]}
  local nearest = {}
  for i = 1, n do nearest[i] = math.huge end
  while #centres < k do
    local c, total = centres[#centres], 0
    for i = 1, n do
      local d = 0
      for j = 1, D do local e = rows[i][j] - c[j]; d = d + e * e end
      if d < nearest[i] then nearest[i] = d end
      total = total + nearest[i]
    end
    local pick, at = gen:uniform() * total, n
    for i = 1, n do
      pick = pick - nearest[i]
      if pick <= 0 then at = i; break end
    end
    centres[#centres + 1] = rows[at]
  end
  local m = native.zeros(k, D)
  for c = 1, k do for j = 1, D do m:set(c, j, centres[c][j]) end end
  return m
end

-- Lloyd's iterations from centres (k, D); distances through one GEMM per iteration
local function lloyd(x, rows, norms, centres, iterations)
  local n, D, k = #rows, #rows[1], centres:size(1)
  local assign, inertia = {}, 0
  for _ = 1, iterations do
    local cross = native.matmul(x, centres:t()):totable()              -- (n, k) x . c
    local cn = squared_norms(centres:totable())
    local changed = false
    inertia = 0
    for i = 1, n do
      local best, at = math.huge, 1
      local ci = cross[i]
      for c = 1, k do
        local d = cn[c] - 2 * ci[c]
        if d < best then best, at = d, c end
      end
      if assign[i] ~= at then changed = true; assign[i] = at end
      inertia = inertia + math.max(0, best + norms[i])
    end
    local sums, counts = {}, {}
    for c = 1, k do sums[c], counts[c] = {}, 0; for j = 1, D do sums[c][j] = 0 end end
    for i = 1, n do
      local c, r = assign[i], rows[i]
      counts[c] = counts[c] + 1
      for j = 1, D do sums[c][j] = sums[c][j] + r[j] end
    end
    for c = 1, k do   -- an empty cluster keeps its centre
      if counts[c] > 0 then for j = 1, D do centres:set(c, j, sums[c][j] / counts[c]) end end
    end
    if not changed then break end
  end
  return assign, inertia
end

function cluster.kmeans(x, k, gen, opts)
  opts = opts or {}
  if x:dim() ~= 2 or x:size(1) < 1 then error("cluster.kmeans: points (N, D) expected", 2) end
  if math.type(k) ~= "integer" or k < 1 or k > x:size(1) then
    error(("cluster.kmeans: k in [1, %d] expected, got %s"):format(x:size(1), tostring(k)), 2)
  end
  x = x:clone()   -- contiguous
  local rows = x:totable()
  local norms = squared_norms(rows)
  local best, best_inertia
  for _ = 1, opts.restarts or 5 do
    local assign, inertia = lloyd(x, rows, norms, seeds(rows, k, gen), opts.iterations or 100)
    if not best_inertia or inertia < best_inertia then best, best_inertia = assign, inertia end
  end
  local out = {}
  for i, c in ipairs(best) do out[i] = c - 1 end
  return out, best_inertia
end

-- (N, D) standardised with the given per-column mean and deviation
local function standardise(x, mean, sd)
  local out = x:clone()
  local n, D = x:size(1), x:size(2)
  for i = 1, n do for j = 1, D do out:set(i, j, (x:get(i, j) - mean[j]) / sd[j]) end end
  return out
end

function cluster.linear_probe(train_x, train_y, test_x, test_y, classes, opts)
  opts = opts or {}
  local n, D = train_x:size(1), train_x:size(2)
  local mean, sd = {}, {}
  for j = 1, D do
    local s, s2 = 0, 0
    for i = 1, n do local v = train_x:get(i, j); s = s + v; s2 = s2 + v * v end
    mean[j] = s / n
    sd[j] = math.sqrt(math.max(s2 / n - mean[j] ^ 2, 0)) + 1e-6
  end
  local a, b = standardise(train_x, mean, sd), standardise(test_x, mean, sd)
  local linear = layers.Linear.new(D, classes, native.generator(opts.seed or 1))
  local criterion = criterions.CrossEntropyLoss.new()
  local adam = optim.Adam.new(linear:parameters(), linear:grad_parameters(), {lr = opts.lr or 0.05})
  for _ = 1, opts.steps or 300 do   -- full batch: a convex problem of a few thousand values
    linear:zero_grad()
    local logits = linear:forward(a)
    criterion:forward(logits, train_y)
    linear:backward(a, criterion:backward(logits, train_y))
    adam:step()
  end
  local logits, right = linear:forward(b), 0
  for i = 1, logits:size(1) do
    local best, at = -math.huge, 0
    for c = 1, classes do if logits:get(i, c) > best then best, at = logits:get(i, c), c - 1 end end
    if at == math.tointeger(test_y:get(i)) then right = right + 1 end
  end
  return right / logits:size(1)
end

return cluster
