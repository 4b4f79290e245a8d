--- Image folders, the layout torchvision's ImageFolder reads:
--   DIR/train/<class>/*.png and DIR/test/<class>/*.png
-- Classes are the sorted sub-folder names, the same in both splits. PNGs of
-- any kind (grey, grey+alpha, RGB, RGBA, palette, 16-bit) become float32 in
-- [0, 1]: one channel when every image of the split is grey, else three.
-- All images must have one size unless opts.resize = {h, w} (bilinear).
local native = require "capsrun.native"

local folder = {}

local function fail(fmt, ...) error(("data: " .. fmt):format(...), 0) end

local function subfolders(path)
  local entries, err = native.listdir(path)
  if not entries then fail("cannot read the image folder %s", err) end
  local names = {}
  for _, e in ipairs(entries) do if e.dir then names[#names + 1] = e.name end end
  return names
end

--- classes(dir) -> the sorted class names, checked to be the same in train and test
function folder.classes(dir)
  local train, test = subfolders(dir .. "/train"), subfolders(dir .. "/test")
  if #train == 0 then fail("%s/train holds no class folders (expected train/<class>/*.png)", dir) end
  local in_test = {}
  for _, c in ipairs(test) do in_test[c] = true end
  for _, c in ipairs(train) do
    if not in_test[c] then fail("class '%s' is in %s/train but not in %s/test: both splits need the same classes", c, dir, dir) end
    in_test[c] = nil
  end
  local extra = next(in_test)
  if extra then fail("class '%s' is in %s/test but not in %s/train: both splits need the same classes", extra, dir, dir) end
  return train
end

--- files(dir, split, classes) -> {{path, label}, ...}: classes interleaved
-- (the first image of each class, then the second...), so that a --limit
-- keeps every class
function folder.files(dir, split, classes)
  local per_class, longest = {}, 0
  for label, name in ipairs(classes) do
    local path = dir .. "/" .. split .. "/" .. name
    local entries, err = native.listdir(path)
    if not entries then fail("cannot read %s", err) end
    local list = {}
    for _, e in ipairs(entries) do
      if not e.dir then
        if not e.name:lower():match("%.png$") then
          fail("%s/%s is not a .png file (capsrun reads PNG images; convert or remove it)", path, e.name)
        end
        list[#list + 1] = {path .. "/" .. e.name, label - 1}
      end
    end
    if #list == 0 then fail("the class folder %s holds no .png images", path) end
    per_class[label] = list
    longest = math.max(longest, #list)
  end
  local out = {}
  for i = 1, longest do
    for label = 1, #classes do
      local f = per_class[label][i]
      if f then out[#out + 1] = f end
    end
  end
  return out
end

--- load(dir, split, opts) -> a data set as data.load returns it
-- opts: limit, resize {h, w}, progress(done, total)
function folder.load(dir, split, opts)
  opts = opts or {}
  local classes = folder.classes(dir)
  local files = folder.files(dir, split, classes)
  if opts.limit and opts.limit < #files then
    for i = #files, math.max(1, opts.limit) + 1, -1 do files[i] = nil end
  end
  -- the headers first: channels, and one size (or a resize)
  local colour, w0, h0 = false, nil, nil
  for i, f in ipairs(files) do
    local w, h, c = native.png_info(f[1])
    colour = colour or c
    if not w0 then w0, h0 = w, h
    elseif (w ~= w0 or h ~= h0) and not opts.resize then
      fail("images of different sizes: %s is %dx%d, %s is %dx%d (give --resize HxW to bring them to one size)",
        files[1][1], w0, h0, f[1], w, h)
    end
    if opts.progress and i % 1024 == 0 then opts.progress(i, 2 * #files) end
  end
  local h, w = h0, w0
  if opts.resize then h, w = opts.resize[1], opts.resize[2] end
  local channels = colour and 3 or 1
  local images, labels = native.zeros(#files, channels, h, w), native.zeros(#files)
  for i, f in ipairs(files) do
    native.read_png_into(f[1], images, i, opts.resize ~= nil)
    labels:set(i, f[2])
    if opts.progress and i % 256 == 0 then opts.progress(#files + i, 2 * #files) end
  end
  if opts.progress then opts.progress(2 * #files, 2 * #files) end
  return {images = images, labels = labels, n = #files, classes = #classes, class_names = classes,
    dir = dir, name = "folder", split = split}
end

return folder
