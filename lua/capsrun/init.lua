local native = require "capsrun.native"
local capsrun = {native = native}
return capsrun
