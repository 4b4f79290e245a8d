--- Image folders, the layout torchvision's ImageFolder reads:
--   DIR/train/<class>/*.png|jpg and DIR/test/<class>/*.png|jpg
-- Classes are the sorted sub-folder names, the same in both splits. PNGs of
-- any kind (grey, grey+alpha, RGB, RGBA, palette, 16-bit) and JPEGs (grey,
-- colour; baseline or progressive) become float32 in [0, 1]: one channel
-- when every image of the split is grey, else three. Files that are not
-- images (by their extension) are skipped, counted in one warning; a corrupt
-- image is an error naming it.
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

local IMAGE_EXTENSIONS = {png = true, jpg = true, jpeg = true}

--- is_image_name(name) -> true for the extensions read: .png, .jpg, .jpeg (any case)
function folder.is_image_name(name)
  local ext = name:match("%.([^%.]+)$")
  return ext ~= nil and IMAGE_EXTENSIONS[ext:lower()] == true
end

--- files(dir, split, classes) -> {{path, label}, ...}, skipped: classes
-- interleaved (the first image of each class, then the second...), so that
-- a --limit keeps every class; skipped: {count, first} of files that are not images
function folder.files(dir, split, classes)
  local per_class, longest, skipped = {}, 0, {count = 0}
  for label, name in ipairs(classes) do
    local path = dir .. "/" .. split .. "/" .. name
    local entries, err = native.listdir(path)
    if not entries then fail("cannot read %s", err) end
    local list = {}
    for _, e in ipairs(entries) do
      if not e.dir then
        if folder.is_image_name(e.name) then
          list[#list + 1] = {path .. "/" .. e.name, label - 1}
        else
          skipped.count = skipped.count + 1
          skipped.first = skipped.first or (path .. "/" .. e.name)
        end
      end
    end
    if #list == 0 then fail("the class folder %s holds no images (.png, .jpg, .jpeg)", path) end
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
  return out, skipped
end

--- load(dir, split, opts) -> a data set as data.load returns it
-- opts: limit, resize {h, w}, progress(done, total)
function folder.load(dir, split, opts)
  opts = opts or {}
  local classes = folder.classes(dir)
  local files, skipped = folder.files(dir, split, classes)
  if skipped.count > 0 then
    io.stderr:write(("warning: %s/%s: skipped %d file%s that %s not an image (.png, .jpg, .jpeg), such as %s\n"):format(
      dir, split, skipped.count, skipped.count == 1 and "" or "s", skipped.count == 1 and "is" or "are", skipped.first))
  end
  if opts.limit and opts.limit < #files then
    for i = #files, math.max(1, opts.limit) + 1, -1 do files[i] = nil end
  end
  -- the headers first: channels, and one size (or a resize)
  local colour, w0, h0 = false, nil, nil
  for i, f in ipairs(files) do
    local w, h, c = native.image_info(f[1])
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
    native.read_image_into(f[1], images, i, opts.resize ~= nil)
    labels:set(i, f[2])
    if opts.progress and i % 256 == 0 then opts.progress(#files + i, 2 * #files) end
  end
  if opts.progress then opts.progress(2 * #files, 2 * #files) end
  return {images = images, labels = labels, n = #files, classes = #classes, class_names = classes,
    dir = dir, name = "folder", split = split}
end

return folder
