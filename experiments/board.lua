-- board.lua: capsrun board. A local web page over a folder of runs: every
-- run's curves, overlaid and growing live while a run trains (in another
-- process), its figures; and the capsule explorer for any weights file:
-- pick a test image or draw one, see the class capsules, step through the
-- routing's coupling coefficients, and move each dimension of a class
-- capsule while the decoder redraws the reconstruction (docs/board.md).
--
--   capsrun experiments/board.lua                 (runs/, at http://127.0.0.1:8088)
--   capsrun experiments/board.lua runs/ --port 9000 --data ../shared/data/mnist
--   capsrun experiments/board.lua --host 0.0.0.0  (other machines too: anyone who reaches it reads the runs)
local capsrun = require "capsrun"
local experiment = require "capsrun.experiment"
local opts = capsrun.cli.parse(arg, {
  {"host", "string", "127.0.0.1", "address to listen on (127.0.0.1: this machine only)"},
  {"port", "int", 8088, "port (0: any free one)", min = 0},
  {"data", "string", nil, "folder of the data sets, for the explorer's test images (else $CAPSRUN_DATA, ./data)"},
  {"dataset", "string", nil, "test images of this data set instead of the one each model was trained on"},
  {"seconds", "number", nil, "stop after this many seconds (default: until Ctrl-C)"},
  {"threads", "int", 1, "threads for the explorer's math (one request's work is small: more threads only wait "
    .. "on each other, worse while a run trains beside the board)", min = 1},
  positional = {name = "RUNS_DIR", help = "the folder of runs (default: runs)"},
}, "usage: capsrun experiments/board.lua [options] [RUNS_DIR]")
if #opts.positional > 1 then experiment.fail(2, "board: one RUNS_DIR expected, got " .. #opts.positional) end
local root = opts.positional[1] or "runs"
capsrun.set_threads(opts.threads)
local board = experiment.try("board", require("capsrun.board.server").new, {root = root, host = opts.host,
  port = opts.port, data = opts.data, dataset = opts.dataset})
if opts.host ~= "127.0.0.1" and opts.host ~= "localhost" then
  experiment.warn(("listening on %s, not only this machine: anyone who can reach port %d reads the runs in %s")
    :format(opts.host, board.port, root))
end
print(("capsrun board: the runs in %s at http://%s:%d/ (Ctrl-C stops it)"):format(root,
  opts.host == "0.0.0.0" and "127.0.0.1" or opts.host, board.port))
io.stdout:flush()
experiment.interruptible(function() board:run(opts.seconds) end, function() return "board stopped" end)
