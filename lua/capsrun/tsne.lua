--- tsne(x (N, D) [, opts]) -> y (N, dims), info: t-SNE (van der Maaten &
-- Hinton 2008), exact, in C (native/kernels/tsne.c): for figures of a few
-- thousand capsule activations (O(N^2) time and memory, N <= 5000).
-- opts (defaults, those of the reference implementation): perplexity (30,
-- lowered to (N - 1) / 3 for small N), dims (2), iterations (1000),
-- learning_rate (200), exaggeration (12) for the first exaggeration_iterations
-- (250), gen (the start, N(0, 1e-4)). info = {kl = KL(P || Q) of the result,
-- unconverged = points whose bandwidth search missed the perplexity,
-- perplexity = the one used}. Deterministic for a given generator state,
-- whatever the number of threads.
--
--   local y = capsrun.tsne(presences, {gen = capsrun.generator(1)})
local native = require "capsrun.native"
local random = require "capsrun.random"

return function(x, opts)
  opts = opts or {}
  if type(x) ~= "userdata" or x:dim() ~= 2 then error("tsne: points as a (N, D) tensor expected", 2) end
  local n = x:size(1)
  local perplexity = math.min(opts.perplexity or 30, (n - 1) / 3)
  local y = native.zeros(n, opts.dims or 2):normal_(opts.gen or random.default(), 0, 1e-4)
  local ok, kl, unconverged = pcall(native.tsne, x, y, perplexity, opts.iterations or 1000,
    opts.learning_rate or 200, opts.exaggeration or 12, opts.exaggeration_iterations or 250)
  if not ok then error(kl, 2) end
  return y, {kl = kl, unconverged = unconverged, perplexity = perplexity}
end
