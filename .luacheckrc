-- luacheck (Debian lua-check) over every Lua file: CI fails on any warning,
-- above all on a read of an undefined global (a local used before its
-- definition reads as a nil global at run time).
std = "lua54"
globals = {"capsrun"}
max_line_length = 160
ignore = {
  "212",  -- unused argument: a Module's forward(input) and backward(input, grad_output) keep one signature
  "421",  -- shadowing a local in a nested block (short names such as c, h in pixel loops)
  "581",  -- 'not (x > y)': deliberate, it is also true for NaN
}
files["spec"] = {std = "+busted"}
