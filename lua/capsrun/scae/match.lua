--- Best one-to-one matching of predicted groups to true ones, and the
-- accuracies SCAE is measured by (Kosiorek et al. 2019): the segmentation
-- accuracy of constellation points (each point's winning capsule matched to
-- the pattern it came from) and the unsupervised classification accuracy of
-- clusters matched to labels. The matching is the Hungarian algorithm
-- (Kuhn-Munkres, O(n^3)) on a rectangular cost matrix.
local match = {}

--- assign(cost) -> rows' columns: assignment[r] = the column given to row r
-- (nil when there are more rows than columns), minimising the total cost.
-- cost: a list of rows of numbers (n rows, m columns).
function match.assign(cost)
  local n = #cost
  if n == 0 then return {} end
  local m = #cost[1]
  for r = 1, n do
    if #cost[r] ~= m then error(("match.assign: row %d has %d costs, row 1 has %d"):format(r, #cost[r], m), 2) end
  end
  local transpose = n > m                  -- the algorithm below wants rows <= columns
  local a = cost
  if transpose then
    a = {}
    for c = 1, m do a[c] = {} for r = 1, n do a[c][r] = cost[r][c] end end
    n, m = m, n
  end
  -- potentials u (rows), v (columns); p[j]: the row matched to column j (0: none); 1-based, column 0 a sentinel
  local u, v, p, way = {}, {}, {}, {}
  for i = 0, n do u[i] = 0 end
  for j = 0, m do v[j], p[j], way[j] = 0, 0, 0 end
  for i = 1, n do
    p[0] = i
    local j0 = 0
    local minv, used = {}, {}
    for j = 0, m do minv[j], used[j] = math.huge, false end
    repeat
      used[j0] = true
      local i0, delta, j1 = p[j0], math.huge, nil
      for j = 1, m do
        if not used[j] then
          local cur = a[i0][j] - u[i0] - v[j]
          if cur < minv[j] then minv[j], way[j] = cur, j0 end
          if minv[j] < delta then delta, j1 = minv[j], j end
        end
      end
      for j = 0, m do
        if used[j] then u[p[j]] = u[p[j]] + delta; v[j] = v[j] - delta
        else minv[j] = minv[j] - delta end
      end
      j0 = j1
    until p[j0] == 0
    repeat
      local j1 = way[j0]
      p[j0] = p[j1]
      j0 = j1
    until j0 == 0
  end
  local out = {}
  for j = 1, m do
    if p[j] ~= 0 then
      if transpose then out[j] = p[j] else out[p[j]] = j end
    end
  end
  return out
end

--- matched_correct(pred, truth [, weight]) -> how many items agree after the
-- best one-to-one renaming of the predicted groups (pred[i], truth[i]:
-- integers; weight[i]: 0 leaves item i out, as an absent point)
function match.matched_correct(pred, truth, weight)
  local pk, tk, pi, ti = {}, {}, {}, {}
  for i = 1, #truth do
    if not weight or weight[i] ~= 0 then
      if not pi[pred[i]] then pk[#pk + 1] = pred[i]; pi[pred[i]] = #pk end
      if not ti[truth[i]] then tk[#tk + 1] = truth[i]; ti[truth[i]] = #tk end
    end
  end
  if #tk == 0 then return 0 end
  local counts = {}
  for t = 1, #tk do counts[t] = {} for q = 1, #pk do counts[t][q] = 0 end end
  for i = 1, #truth do
    if not weight or weight[i] ~= 0 then
      local row = counts[ti[truth[i]]]
      row[pi[pred[i]]] = row[pi[pred[i]]] + 1
    end
  end
  local cost = {}
  for t = 1, #tk do cost[t] = {} for q = 1, #pk do cost[t][q] = -counts[t][q] end end
  local total = 0
  for t, q in pairs(match.assign(cost)) do total = total + counts[t][q] end
  return total
end

--- segmentation_accuracy(pred, truth, presence) -> the share of present
-- points whose winning capsule matches their pattern, each example matched
-- on its own (as the paper's eval_segmentation); pred, truth, presence: lists
-- (examples) of lists (points)
function match.segmentation_accuracy(pred, truth, presence)
  local correct, total = 0, 0
  for b = 1, #truth do
    correct = correct + match.matched_correct(pred[b], truth[b], presence and presence[b])
    for i = 1, #truth[b] do if not presence or presence[b][i] ~= 0 then total = total + 1 end end
  end
  return total > 0 and correct / total or 0
end

--- cluster_accuracy(clusters, labels) -> the share of items whose cluster,
-- renamed by the best one-to-one matching of clusters to labels, is their
-- label (the unsupervised classification accuracy of k-means on capsules)
function match.cluster_accuracy(clusters, labels)
  if #clusters ~= #labels then
    error(("match.cluster_accuracy: %d clusters for %d labels"):format(#clusters, #labels), 2)
  end
  if #labels == 0 then return 0 end
  return match.matched_correct(clusters, labels) / #labels
end

return match
