--- capsrun: capsule networks in Lua, with the math in C.
-- require "capsrun" gives one table holding the tensor functions and the
-- library's modules; see README.md for the API in brief.
local native = require "capsrun.native"
local layers = require "capsrun.layers"
local capsules = require "capsrun.capsules"
local criterions = require "capsrun.criterions"

local capsrun = {
  native = native,
  -- tensors
  zeros = native.zeros, ones = native.ones, tensor = native.new, new = native.new,
  matmul = native.matmul, index_select = native.index_select, narrow = native.narrow, cat = native.cat,
  generator = native.generator,
  -- layers and containers
  Module = require "capsrun.Module",
  Sequential = require "capsrun.Sequential",
  Conv2d = layers.Conv2d, Linear = layers.Linear, ReLU = layers.ReLU, Sigmoid = layers.Sigmoid,
  Squash = capsules.Squash, PrimaryCaps = capsules.PrimaryCaps, DigitCaps = capsules.DigitCaps,
  Length = capsules.Length, PrimaryMatCaps = (require "capsrun.matcaps").PrimaryMatCaps,
  ConvCaps = (require "capsrun.matcaps").ConvCaps, ClassCaps = (require "capsrun.matcaps").ClassCaps,
  MatActivations = (require "capsrun.matcaps").MatActivations, MaxPool2d = layers.MaxPool2d, Dropout = layers.Dropout, Flatten = layers.Flatten,
  MarginLoss = criterions.MarginLoss, SSELoss = criterions.SSELoss, CrossEntropyLoss = criterions.CrossEntropyLoss,
  SigmoidBCELoss = criterions.SigmoidBCELoss,
  Criterion = require "capsrun.Criterion",
  -- automatic differentiation: modules written with taped native ops
  autograd = require "capsrun.autograd",
  TapeModule = require "capsrun.TapeModule",
  RoutedCaps = require "capsrun.RoutedCaps",
  PoseLogits = require "capsrun.PoseLogits",
  routing = require "capsrun.routing",
  models = require "capsrun.models",
  CapsNet = require "capsrun.CapsNet",
  CNNBaseline = require "capsrun.CNNBaseline",
  Decoder = require "capsrun.Decoder",
  MatrixCapsNet = require "capsrun.MatrixCapsNet",
  EfficientCapsNet = require "capsrun.EfficientCapsNet",
  BatchNorm = require "capsrun.BatchNorm",
  SpreadLoss = criterions.SpreadLoss,
  matcaps = require "capsrun.matcaps",
  -- training
  optim = require "capsrun.optim",
  data = require "capsrun.data",
  train = require "capsrun.train",
  gradcheck = require "capsrun.gradcheck",
  random = require "capsrun.random",
  cli = require "capsrun.cli",
  plot = require "capsrun.plot",
  tsne = require "capsrun.tsne",
  perturb = require "capsrun.perturb",
  checkpoint = require "capsrun.checkpoint",
  experiment = require "capsrun.experiment",
  dist = require "capsrun.dist",
  canvas = require "capsrun.canvas",
  json = require "capsrun.json",
  -- stacked capsule autoencoders (docs/scae.md)
  scae = {constellation = require "capsrun.scae.constellation", match = require "capsrun.scae.match",
    SetTransformer = require "capsrun.scae.SetTransformer", ConstellationAE = require "capsrun.scae.ConstellationAE",
    PCAE = require "capsrun.scae.PCAE", ImageOCAE = require "capsrun.scae.ImageOCAE",
    SCAE = require "capsrun.scae.SCAE", cluster = require "capsrun.scae.cluster"},
}

capsrun.manual_seed = capsrun.random.manual_seed
capsrun.exit = capsrun.cli.exit
capsrun.set_threads = native.set_threads
capsrun.set_flush_denormals = native.set_flush_denormals
capsrun.flush_denormals = native.flush_denormals
capsrun.get_threads = native.get_threads
capsrun.wallclock = native.wallclock
capsrun.write_png_grid = native.write_png_grid
capsrun.write_png_captioned = native.write_png_captioned
capsrun.read_png = native.read_png
capsrun.read_image = native.read_image   -- PNG or JPEG
capsrun.write_jpeg = native.write_jpeg
capsrun.set_precision = native.set_precision
capsrun.precision = native.precision
capsrun.blas_info = native.blas_info

--- load(path) -> model, decoder (or nil), config: any model a weights file
-- (or checkpoint) of capsrun describes, rebuilt with its decoder and loaded
function capsrun.load(path)
  if type(path) ~= "string" then error("capsrun.load: a weights file path expected, got " .. type(path), 2) end
  return capsrun.train.load_model(path)
end

local help = require("capsrun.help")(capsrun)
capsrun.help, capsrun.help_text = help.help, help.text

return capsrun
