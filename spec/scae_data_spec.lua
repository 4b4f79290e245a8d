-- The stacked capsule autoencoder's measures and data (issue 24, first
-- part): the Hungarian matching behind segmentation and cluster accuracy,
-- on hand-made cases, and the constellation generator's statistics.
local capsrun = require "capsrun"
local match = require "capsrun.scae.match"
local constellation = require "capsrun.scae.constellation"

describe("scae: matching groups to labels", function()
  it("finds the cheapest one-to-one assignment, square or rectangular", function()
    assert.same({2, 1, 3}, match.assign({{4, 1, 3}, {2, 0, 5}, {3, 2, 2}}))
    -- every permutation of 4 tried by brute force against the algorithm on random costs
    local g = capsrun.generator(3)
    for _ = 1, 20 do
      local cost = {}
      for r = 1, 4 do cost[r] = {} for c = 1, 4 do cost[r][c] = math.floor(g:uniform() * 20) end end
      local best = math.huge
      local function try(r, used, total)
        if r > 4 then best = math.min(best, total); return end
        for c = 1, 4 do if not used[c] then used[c] = true; try(r + 1, used, total + cost[r][c]); used[c] = false end end
      end
      try(1, {}, 0)
      local a, total = match.assign(cost), 0
      for r, c in pairs(a) do total = total + cost[r][c] end
      assert.equal(best, total)
    end
    -- more rows than columns: two rows get a column, the cheapest two
    local a = match.assign({{5, 9}, {1, 8}, {7, 2}})
    assert.same({nil, 1, 2}, {a[1], a[2], a[3]})
    assert.same({1, 2}, match.assign({{1, 5, 5}, {5, 1, 5}}))
    assert.error_matches(function() match.assign({{1, 2}, {1}}) end, "row 2 has 1 costs, row 1 has 2")
  end)

  it("measures cluster and segmentation accuracy after the best renaming", function()
    assert.equal(1, match.cluster_accuracy({7, 7, 3, 3, 5}, {0, 0, 1, 1, 2}))
    assert.near(5 / 7, match.cluster_accuracy({2, 2, 0, 0, 1, 1, 1}, {0, 0, 1, 1, 2, 2, 0}) - 1 / 7, 1e-12)
    assert.equal(0.5, match.cluster_accuracy({1, 1, 1, 1}, {0, 0, 1, 1}))   -- one cluster: half at best
    assert.error_matches(function() match.cluster_accuracy({1}, {1, 2}) end, "1 clusters for 2 labels")
    -- points of absent patterns do not count; each example matched on its own
    local acc = match.segmentation_accuracy({{1, 1, 2, 2, 0}, {0, 0, 0, 1}}, {{0, 0, 1, 1, 1}, {1, 1, 0, 0}},
      {{1, 1, 1, 1, 0}, {1, 1, 1, 1}})
    assert.near(7 / 8, acc, 1e-12)
  end)
end)

describe("scae: constellations", function()
  it("draws the paper's patterns, each moved rigidly, half of them present, normalised to [-1, 1]", function()
    local b = constellation.batch(400, capsrun.generator(1))
    assert.same({400, 11, 2}, b.corners:size())
    assert.equal(-1, b.corners:min())
    assert.equal(1, b.corners:max())
    -- a pattern is present or absent as a whole; about half are
    local present, patterns = 0, 0
    local shape = {[0] = "square", "triangle", "square"}
    for e = 1, 400 do
      local seen = {}
      for i = 1, 11 do
        local k = math.tointeger(b.pattern:get(e, i))
        local p = b.presence:get(e, i)
        if seen[k] == nil then seen[k] = p; patterns = patterns + 1; present = present + p end
        assert.equal(seen[k], p)
      end
      -- within a pattern, distances keep the template's ratios (rotation, scale and translation only)
      for k = 0, 2 do
        local pts = {}
        for i = 1, 11 do if math.tointeger(b.pattern:get(e, i)) == k then pts[#pts + 1] = {b.corners:get(e, i, 1), b.corners:get(e, i, 2)} end end
        local tmpl = constellation.PATTERNS[shape[k]]
        assert.equal(#tmpl, #pts)
        local function d(p, q) return math.sqrt((p[1] - q[1]) ^ 2 + (p[2] - q[2]) ^ 2) end
        local function sorted_ratios(list)
          local ds = {}
          for i = 1, #list do for j = i + 1, #list do ds[#ds + 1] = d(list[i], list[j]) end end
          table.sort(ds)
          local top = ds[#ds]
          for i = 1, #ds do ds[i] = ds[i] / top end
          return ds
        end
        local want, got = sorted_ratios(tmpl), sorted_ratios(pts)
        for i = 1, #want do assert.near(want[i], got[i], 1e-4) end
      end
    end
    assert.equal(1200, patterns)
    assert.is_true(math.abs(present / patterns - 0.5) < 0.05, present / patterns)
    -- the points are shuffled: the first point is not always of the first pattern
    local first = 0
    for e = 1, 400 do if b.pattern:get(e, 1) == 0 then first = first + 1 end end
    assert.is_true(first > 60 and first < 220, first)
    -- seeded: the same generator state, the same batch
    local again = constellation.batch(400, capsrun.generator(1))
    assert.equal(0, (again.corners - b.corners):norm())
    assert.error_matches(function() constellation.batch(2, capsrun.generator(1), {patterns = {"hexagon"}}) end,
      "unknown pattern 'hexagon'")
    assert.error_matches(function() constellation.batch(0, capsrun.generator(1)) end, "positive number")
  end)
end)
