--- geometry: the affine maps of the stacked capsule autoencoders, on the
-- tape, as the official math_ops.geometric_transform (similarity=False,
-- nonlinear=True) builds them. An affine map is a list of six Vars
-- {a, b, tx, c, d, ty}: the rows of [[a b tx], [c d ty]] (the last row of
-- the 3x3 matrix is 0 0 1), each of size 1 along the pose's axis.
local geometry = {}

--- affine(pose, axis): the map of 6 raw values along axis: scales sigmoid + 0.01,
-- angle 2 pi x, shear tanh(5 x), translations tanh(5 x)
function geometry.affine(pose, axis)
  local function part(i) return pose:narrow(axis, i, 1) end
  local sx, sy = part(1):sigmoid() + 1e-2, part(2):sigmoid() + 1e-2
  local theta = part(3) * (2 * math.pi)
  local shear = (part(4) * 5):tanh()
  local tx, ty = (part(5) * 5):tanh(), (part(6) * 5):tanh()
  local c, s = theta:cos(), theta:sin()
  return {sx * c + shear * sy * s, sx * s * -1 + shear * sy * c, tx, sy * s, sy * c, ty}
end

--- inverse(m): the inverse map (the template's coordinates of a canvas point)
function geometry.inverse(m)
  local a, b, e, c, d, f = m[1], m[2], m[3], m[4], m[5], m[6]
  local det = a * d - b * c
  local ia, ib, ic, id = d / det, b * -1 / det, c * -1 / det, a / det
  return {ia, ib, (ia * e + ib * f) * -1, ic, id, (ic * e + id * f) * -1}
end

--- compose(m, n): the map m after n (the 3x3 product m n), broadcasting
function geometry.compose(m, n)
  local a1, b1, e1, c1, d1, f1 = m[1], m[2], m[3], m[4], m[5], m[6]
  local a2, b2, e2, c2, d2, f2 = n[1], n[2], n[3], n[4], n[5], n[6]
  return {a1 * a2 + b1 * c2, a1 * b2 + b1 * d2, a1 * e2 + b1 * f2 + e1,
          c1 * a2 + d1 * c2, c1 * b2 + d1 * d2, c1 * e2 + d1 * f2 + f1}
end

return geometry
