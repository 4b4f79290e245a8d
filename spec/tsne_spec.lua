-- capsrun.tsne: exact t-SNE in C for figures. Against a float64 PyTorch
-- version of the reference algorithm (bench/tsne_torch.py), on separable
-- clusters, across thread counts, and with hostile arguments.
local capsrun = require "capsrun"
local H = require "spec.helpers"
local T = capsrun.native

-- n points in clusters of dimension d: cluster k (i % clusters) shifted by 6 along axis k + 1
local function clusters(n, d, count, seed)
  local x = T.zeros(n, d):normal_(T.generator(seed), 0, 1)
  for i = 1, n do
    local k = (i - 1) % count
    x:set(i, k + 1, x:get(i, k + 1) + 6)
  end
  return x
end

-- the fraction of points whose nearest other point in y has their cluster
local function neighbour_agreement(y, count)
  local n, m, agree = y:size(1), y:size(2), 0
  for i = 1, n do
    local best, bj = math.huge, nil
    for j = 1, n do
      if j ~= i then
        local d = 0
        for k = 1, m do d = d + (y:get(i, k) - y:get(j, k)) ^ 2 end
        if d < best then best, bj = d, j end
      end
    end
    if (i - 1) % count == (bj - 1) % count then agree = agree + 1 end
  end
  return agree / n
end

describe("capsrun.tsne", function()
  it("separates clusters, lowers the KL divergence as it iterates, and is deterministic", function()
    local x = clusters(240, 8, 4, 1)
    local y, info = capsrun.tsne(x, {gen = T.generator(7)})
    assert.same({240, 2}, y:size())
    assert.equal(0, info.unconverged)
    assert.equal(30, info.perplexity)
    assert.equal(1, neighbour_agreement(y, 4))
    local _, short = capsrun.tsne(x, {gen = T.generator(7), iterations = 30})
    assert.is_true(info.kl < 0.8 * short.kl, ("%g after 1000 iterations, %g after 30"):format(info.kl, short.kl))
    local y2 = capsrun.tsne(x, {gen = T.generator(7)})
    assert.equal(0, (y - y2):norm())
    -- the sums run row by row in double, then over rows in order: threads do not change the result
    local threads = capsrun.get_threads()
    capsrun.set_threads(1)
    local y1 = capsrun.tsne(x, {gen = T.generator(7)})
    capsrun.set_threads(threads)
    assert.equal(0, (y - y1):norm())
  end)

  it("lowers the perplexity for a few points and embeds in 3 dimensions", function()
    local y, info = capsrun.tsne(clusters(10, 3, 2, 2), {dims = 3, iterations = 50, gen = T.generator(1)})
    assert.same({10, 3}, y:size())
    assert.equal(3, info.perplexity)
  end)

  it("equals a float64 PyTorch version of the reference algorithm", function()
    if not H.have_torch() then
      if os.getenv("CI") then error("python3-torch is required under CI") end
      pending("python3-torch not installed")
      return
    end
    local x = clusters(60, 5, 3, 3)
    -- the first steps, exactly: affinities, gradient, gains, momentum (later ones diverge
    -- between float32 and float64 as any t-SNE does: a gain flips with a gradient's sign)
    for _, iterations in ipairs{1, 3, 5} do
      local y0 = T.zeros(60, 2):normal_(T.generator(5), 0, 1e-4)
      local y = y0:clone()
      T.tsne(x, y, 10, iterations, 200, 12, 250)
      local ref = H.torch_reference("tsne_torch.py", {x = x, y0 = y0,
        settings = T.new{10, iterations, 200, 12, 250}})
      assert.is_true(H.rel(y, ref.y) < 1e-4, ("%d iterations: embedding %g"):format(iterations, H.rel(y, ref.y)))
    end
    -- the KL divergence of a finished embedding (P in full): PyTorch scores capsrun's result
    local y = T.zeros(60, 2):normal_(T.generator(5), 0, 1e-4)
    local kl = T.tsne(x, y, 10, 300, 200, 12, 100)
    local ref = H.torch_reference("tsne_torch.py", {x = x, y0 = y, settings = T.new{10, 0, 200, 12, 100}})
    assert.is_true(math.abs(kl - ref.kl:get(1)) < 1e-4 * math.abs(ref.kl:get(1)),
      ("KL %g, PyTorch %g"):format(kl, ref.kl:get(1)))
  end)

  it("refuses bad points, starts and settings with the argument and what was expected", function()
    local x, y = T.zeros(20, 3), T.zeros(20, 2)
    local function fails(pattern, ...)
      local args = table.pack(...)
      assert.error_matches(function() T.tsne(table.unpack(args, 1, args.n)) end, pattern)
    end
    fails("bad argument #1 to 'tsne' %(capsrun.Tensor expected, got string%)", "x", y, 5, 10, 200, 12, 5)
    fails("bad argument #1 to 'tsne' %(between 4 and 5000 points %(rows%) expected, got 1%)", T.zeros(1, 3), T.zeros(1, 2), 5, 10, 200, 12, 5)
    fails("bad argument #1 to 'tsne' %(between 4 and 5000 points", T.zeros(5001, 1), T.zeros(5001, 2), 5, 10, 200, 12, 5)
    fails("bad argument #2 to 'tsne' %(a start of shape %(20, 1..3%) expected, got %(19, 2%)%)", x, T.zeros(19, 2), 5, 10, 200, 12, 5)
    fails("bad argument #2 to 'tsne' %(a start of shape %(20, 1..3%) expected, got %(20, 4%)%)", x, T.zeros(20, 4), 5, 10, 200, 12, 5)
    fails("bad argument #3 to 'tsne' %(a perplexity in %[1, %(points %- 1%) / 3%]", x, y, 7, 10, 200, 12, 5)
    fails("bad argument #3 to 'tsne' %(a perplexity", x, y, 0 / 0, 10, 200, 12, 5)
    fails("bad argument #4 to 'tsne'", x, y, 5, 0, 200, 12, 5)
    fails("bad argument #5 to 'tsne' %(a learning rate in", x, y, 5, 10, -1, 12, 5)
    fails("bad argument #6 to 'tsne' %(an exaggeration in", x, y, 5, 10, 200, 0.5, 5)
    local bad = T.zeros(20, 3)
    bad:set(3, 2, 0 / 0)
    fails("bad argument #1 to 'tsne' %(finite values expected", bad, y, 5, 10, 200, 12, 5)
    assert.error_matches(function() capsrun.tsne(T.zeros(20)) end, "tsne: points as a %(N, D%) tensor expected")
  end)
end)
