-- download.lua: fetches the canonical MNIST files over HTTPS and checks
-- their SHA-256 before keeping them.
--
--   capsrun tools/download.lua mnist [DIR]        (DIR defaults to ./data/mnist)
--   capsrun tools/download.lua mnist DIR --base-url http://127.0.0.1:8000/
local capsrun = require "capsrun"
local native = capsrun.native

local MIRRORS = {
  "https://ossci-datasets.s3.amazonaws.com/mnist/",
  "https://storage.googleapis.com/cvdf-datasets/mnist/",
}

-- SHA-256 of the canonical gzipped files (as published by TFDS and Keras)
local FILES = {
  {"train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"},
  {"train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"},
  {"t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"},
  {"t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"},
}

local usage = "usage: capsrun tools/download.lua mnist [DIR] [--base-url URL]"
local opts = capsrun.cli.parse(arg, {
  {"base-url", "string", nil, "fetch from this URL instead of the public mirrors"},
  positional = {name = "mnist [DIR]", help = "the data set, and the folder (default ./data/mnist)", min = 1},
}, usage)
local positional, base_url = opts.positional, opts.base_url
if positional[1] ~= "mnist" or #positional > 2 then
  capsrun.exit(2, usage .. "\n(Fashion-MNIST comes from Debian: apt-get install dataset-fashion-mnist)")
end
local dir = positional[2] or "data/mnist"
capsrun.experiment.try(nil, capsrun.experiment.mkdir_p, dir)

local mirrors = base_url and {base_url} or MIRRORS
local failed = false
for _, f in ipairs(FILES) do
  local name, want = f[1], f[2]
  local target = dir .. "/" .. name
  local ok_file = io.open(target, "rb") and native.sha256_file(target) == want
  if ok_file then
    print(("%s: present, SHA-256 checked"):format(target))
  else
    local done, last_err = false, nil
    for _, m in ipairs(mirrors) do
      local ok, err = pcall(native.download, m .. name, target, 64 << 20)
      if ok then
        local got = native.sha256_file(target)
        if got == want then done = true; break end
        os.remove(target)
        last_err = ("%s%s: SHA-256 %s, expected %s"):format(m, name, got, want)
      else
        last_err = err
      end
    end
    if done then print(("%s: downloaded, SHA-256 checked"):format(target))
    else io.stderr:write(("%s: not downloaded: %s\n"):format(name, last_err)); failed = true end
  end
end
if failed then capsrun.exit(1) end
