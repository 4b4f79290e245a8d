--- figures: what people look at in a stacked capsule autoencoder, as
-- image tensors for capsrun.write_png_captioned:
--   templates(T (K*C, t, t) [, C = 1]) -> (K, C, t, t): the learned templates
--   decomposition(images (n, C, H, W), result [, ocae]) -> (3n or 4n, 3, H, W):
--     rows of n: the input, the PCAE's reconstruction (the mixture's mean
--     per pixel), the OCAE's (ocae_reconstruction, when given) and the parts,
--     each pixel in the colour of the part most responsible for it (the
--     background black), as bright as the reconstruction
--   ocae_reconstruction(scae, n) -> (n, C, H, W): the images as the object
--     capsules' votes redraw their parts
-- Colour (C = 3): each channel its own mixture, the parts row coloured by
-- the part most responsible in the first channel.
--   embedding(x (N, D), labels [, size, method, gen]) -> (1, 3, S, S), info:
--     each row of x as a dot in its label's colour, a square per label in
--     the top-left corner (labels 0, 1, ... from the left) as the legend;
--     method "pca" (the default: the two principal components, info = their
--     variances) or "tsne" (the paper's figure: capsrun.tsne from gen's
--     start, info = {kl, unconverged, perplexity})
local native = require "capsrun.native"

local figures = {}

-- 10 distinct colours (the label and part palette), then cycled
figures.palette = {{0.90, 0.10, 0.10}, {0.10, 0.60, 0.95}, {0.20, 0.80, 0.20}, {1.00, 0.60, 0.00},
  {0.65, 0.30, 0.90}, {0.95, 0.90, 0.10}, {0.00, 0.85, 0.80}, {0.95, 0.40, 0.75}, {0.60, 0.40, 0.20},
  {0.70, 0.70, 0.70}}

local function colour(i) return figures.palette[(i - 1) % #figures.palette + 1] end

function figures.templates(t, channels)
  channels = channels or 1
  return t:clone():reshape(t:size(1) // channels, channels, t:size(2), t:size(3))
end

-- the mixture's mean and most responsible component at pixel p of image b
local function mixture_at(mu, logits, b, p)
  local K1, top, zsum, mean, best, at = mu:size(2), -math.huge, 0, 0, -math.huge, mu:size(2)
  for k = 1, K1 do top = math.max(top, logits:get(b, k, p)) end
  for k = 1, K1 do
    local l = logits:get(b, k, p)
    local w = math.exp(l - top)
    zsum, mean = zsum + w, mean + w * mu:get(b, k, p)
    if l > best then best, at = l, k end
  end
  return math.min(1, math.max(0, mean / zsum)), at
end

function figures.decomposition(images, result, ocae)
  local n, C, H, W = images:size(1), images:size(2), images:size(3), images:size(4)
  local mu, logits = result.components, result.logits           -- (B, K + 1, C*H*W): templates, then background
  local K1, HW = mu:size(2), H * W
  local rows = ocae and 4 or 3
  local out = native.zeros(rows * n, 3, H, W)
  for b = 1, n do
    for y = 1, H do for x = 1, W do
      local p, shade, mean, at = (y - 1) * W + x, 0, {}, nil
      for c = 1, C do   -- each channel is its own mixture; the part shown is the first channel's
        local m, a = mixture_at(mu, logits, b, (c - 1) * HW + p)
        mean[c], at, shade = m, at or a, shade + m / C
      end
      local rgb = at < K1 and colour(at) or {0, 0, 0}
      for c = 1, 3 do
        local cc = C == 3 and c or 1
        out:set(b, c, y, x, images:get(b, cc, y, x))
        out:set(n + b, c, y, x, mean[cc])
        if ocae then out:set(2 * n + b, c, y, x, ocae:get(b, cc, y, x)) end
        out:set((rows - 1) * n + b, c, y, x, rgb[c] * shade)
      end
    end end
  end
  return out
end

--- ocae_reconstruction(scae, n) -> (n, C, H, W): the first n images of the
-- SCAE's last forward as the object capsules explain them: each part's
-- template placed by the vote of the capsule that explains the part best
-- (the largest posterior), present as that vote's presence, mixed with the
-- background as the PCAE mixes its own parts
function figures.ocae_reconstruction(scae, n)
  local part, object = scae.result.part, scae.result.object
  local P, K = scae.config.parts, scae.config.capsules
  local H, W = scae.config.input[2], scae.config.input[3]
  local post, votes, pres = object.posterior, object.votes, object.vote_presence
  local inv, logp = native.zeros(n, P, 6), native.zeros(n, P)
  for b = 1, n do
    for j = 1, P do
      local best, k = -math.huge, 1
      for c = 1, K do if post:get(b, c, j) > best then best, k = post:get(b, c, j), c end end
      local a, bb, e, c, d, f = votes[1]:get(k, b, j), votes[2]:get(k, b, j), votes[3]:get(k, b, j),
        votes[4]:get(k, b, j), votes[5]:get(k, b, j), votes[6]:get(k, b, j)
      local det = a * d - bb * c
      if math.abs(det) < 1e-6 then det = det < 0 and -1e-6 or 1e-6 end
      local ia, ib, ic, id = d / det, -bb / det, -c / det, a / det
      local row = {ia, ib, -(ia * e + ib * f), ic, id, -(ic * e + id * f)}
      for i = 1, 6 do inv:set(b, j, i, row[i]) end
      logp:set(b, j, math.log(pres:get(b, k, j) + 1e-16))
    end
  end
  -- each channel of a template is a template of its own, placed by its part's pose
  local C = scae.config.input[1]
  local cinv = inv
  if C > 1 then
    cinv = native.zeros(n, P * C, 6)
    for b = 1, n do for j = 1, P do for c = 1, C do for i = 1, 6 do
      cinv:set(b, (j - 1) * C + c, i, inv:get(b, j, i))
    end end end end
  end
  local placed = native.tape_template_warp(part.templates, cinv, H, W)   -- (n, P * C, H, W)
  -- the PCAE's own background value (its last component) and mixing: by the template's value over a
  -- temperature, or (official templates) by alpha templates placed alike, each part in its colour
  local bg = part.components:get(1, P + 1, 1)
  local temperature = part.temperature and part.temperature:reshape(1):get(1)
  local alpha = part.templates_alpha and native.tape_template_warp(part.templates_alpha, inv, H, W)
  local HW = H * W
  local mu, logits = native.zeros(n, P + 1, C * HW), native.zeros(n, P + 1, C * HW)
  for b = 1, n do
    for j = 1, P + 1 do
      for c = 1, C do
        local tint = j <= P and part.color and part.color:get(b, j, c) or 1
        for p = 1, HW do
          local y, x = (p - 1) // W + 1, (p - 1) % W + 1
          local v = j <= P and placed:get(b, (j - 1) * C + c, y, x) * tint or bg
          local q = (c - 1) * HW + p
          mu:set(b, j, q, v)
          local mix = alpha and (j <= P and alpha:get(b, j, y, x) or part.bg_logit:get(1)) or v / temperature
          logits:set(b, j, q, mix + (j <= P and logp:get(b, j) or 0))
        end
      end
    end
  end
  local out = native.zeros(n, C, H, W)
  for b = 1, n do for c = 1, C do for p = 1, HW do
    out:set(b, c, (p - 1) // W + 1, (p - 1) % W + 1, (mixture_at(mu, logits, b, (c - 1) * HW + p)))
  end end end
  return out
end

-- the top two principal directions of centred rows (power iteration on X^T X)
local function principal(rows, D)
  local cov = {}
  for i = 1, D do cov[i] = {}; for j = 1, D do cov[i][j] = 0 end end
  for _, r in ipairs(rows) do for i = 1, D do for j = 1, D do cov[i][j] = cov[i][j] + r[i] * r[j] end end end
  local dirs, values = {}, {}
  for d = 1, 2 do
    local v = {}
    for i = 1, D do v[i] = 1 / math.sqrt(D) + 0.01 * i end
    local lambda = 0
    for _ = 1, 200 do
      local w = {}
      for i = 1, D do
        local s = 0
        for j = 1, D do s = s + cov[i][j] * v[j] end
        w[i] = s
      end
      for _, u in ipairs(dirs) do   -- deflate: stay orthogonal to the first direction
        local dot = 0
        for i = 1, D do dot = dot + w[i] * u[i] end
        for i = 1, D do w[i] = w[i] - dot * u[i] end
      end
      local norm = 0
      for i = 1, D do norm = norm + w[i] * w[i] end
      norm = math.sqrt(norm)
      if norm == 0 then break end
      lambda = norm
      for i = 1, D do v[i] = w[i] / norm end
    end
    dirs[d], values[d] = v, lambda
  end
  return dirs, values
end

-- rows of x on their top two principal components: points {{x, y}, ...} and the variances
local function pca_points(x)
  local rows, D = x:totable(), x:size(2)
  local mean = {}
  for j = 1, D do mean[j] = 0 end
  for _, r in ipairs(rows) do for j = 1, D do mean[j] = mean[j] + r[j] / #rows end end
  for _, r in ipairs(rows) do for j = 1, D do r[j] = r[j] - mean[j] end end
  local dirs, values = principal(rows, D)
  local pts = {}
  for i, r in ipairs(rows) do
    local p = {0, 0}
    for d = 1, 2 do for j = 1, D do p[d] = p[d] + r[j] * dirs[d][j] end end
    pts[i] = p
  end
  return pts, values
end

-- digits of 3x5 pixels, rows top to bottom, for the legend's squares
local GLYPHS = {[0] = {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
  {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 2, 2, 2}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}}

-- the number n (0 to 99) in the grey level ink, its top-left pixel at (y, x) (1-based)
local function draw_number(img, n, y, x, ink)
  local digits = n >= 10 and {n // 10, n % 10} or {n}
  for d, digit in ipairs(digits) do
    for r, bits in ipairs(GLYPHS[digit]) do
      for c = 0, 2 do
        if bits & (4 >> c) ~= 0 then for ch = 1, 3 do img:set(1, ch, y + r - 1, x + 4 * (d - 1) + c, ink) end end
      end
    end
  end
end

function figures.embedding(x, labels, size, method, gen)
  size = size or 256
  local pts, info
  if (method or "pca") == "pca" then
    pts, info = pca_points(x)
  elseif method == "tsne" then
    local y
    y, info = require("capsrun.tsne")(x, {gen = gen})
    pts = y:totable()
  else
    error(("figures.embedding: method 'pca' or 'tsne' expected, got '%s'"):format(tostring(method)), 2)
  end
  local lo, hi = {math.huge, math.huge}, {-math.huge, -math.huge}
  for _, p in ipairs(pts) do
    for d = 1, 2 do lo[d], hi[d] = math.min(lo[d], p[d]), math.max(hi[d], p[d]) end
  end
  local img = native.ones(1, 3, size, size)
  for i, p in ipairs(pts) do
    local px = math.floor((p[1] - lo[1]) / math.max(hi[1] - lo[1], 1e-9) * (size - 5)) + 3
    local py = math.floor((1 - (p[2] - lo[2]) / math.max(hi[2] - lo[2], 1e-9)) * (size - 5)) + 3
    local rgb = colour(labels[i] + 1)
    for dy = -1, 1 do for dx = -1, 1 do
      for c = 1, 3 do img:set(1, c, py + dy, px + dx, rgb[c]) end
    end end
  end
  -- the legend: one square per label in the top-left corner, labels in order from the left,
  -- each with its label written in it
  local n_labels = 0
  for _, l in ipairs(labels) do n_labels = math.max(n_labels, l + 1) end
  for l = 1, math.min(n_labels, #figures.palette) do
    local left = 2 + 13 * (l - 1)
    if left + 9 <= size then
      for py = 2, 11 do for px = left, left + 9 do for c = 1, 3 do img:set(1, c, py, px, colour(l)[c]) end end end
      local rgb = colour(l)   -- white on dark colours, black on light ones (yellow, cyan)
      local ink = 0.299 * rgb[1] + 0.587 * rgb[2] + 0.114 * rgb[3] > 0.56 and 0 or 1
      draw_number(img, l - 1, 4, l - 1 >= 10 and left + 1 or left + 3, ink)
    end
  end
  return img, info
end

return figures
