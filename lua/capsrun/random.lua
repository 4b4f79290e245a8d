--- The default generator: one seeded xoshiro256** stream for initialisation,
-- shuffling and augmentation, whose state can be saved and restored.
local native = require "capsrun.native"

local random = {}
local default = native.generator(0)

function random.default() return default end

--- manual_seed(n): reseeds the default generator.
function random.manual_seed(n)
  default:seed(n)
  return default
end

return random
