// The face-mesh points lip-sync uses (MediaPipe's 468-point topology, which Human's facemesh
// follows), the mouth descriptor made from them, and the 2D transforms between frames.

/** Points that do not move when the person speaks: eye corners, nose, the face's sides at ear level. */
export const STABLE = [33, 133, 362, 263, 168, 6, 197, 195, 5, 4, 1, 98, 327, 234, 454] as const;

/**
 * The region a mouth patch replaces: the jaw line from cheek to cheek under the chin, closed across
 * the cheeks and under the nose. Everything the mouth and jaw move is inside it.
 */
export const LOWER_FACE = [132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361, 425, 327, 2, 98, 205] as const;
/** The first JAW_POINTS of LOWER_FACE are the face's outline (cheek, jaw, chin, jaw, cheek); the rest run under the nose. */
export const JAW_POINTS = 17;

const P = { innerTop: 13, innerBottom: 14, innerTopL: 82, innerBottomL: 87, innerTopR: 312, innerBottomR: 317, cornerR: 61, cornerL: 291, outerTop: 0, outerBottom: 17, chin: 152, eyeR: 33, eyeL: 263 };

/** The points an index keeps per frame: stable ones, the lower-face outline, the lips. */
export const KEPT = [...new Set<number>([...STABLE, ...LOWER_FACE, ...Object.values(P)])].sort((a, b) => a - b);

export type Pt = [number, number];

/** x, y of mesh point `i` from Human's flat array. */
export function pt(points: ArrayLike<number>, i: number): Pt {
  return [points[2 * i], points[2 * i + 1]];
}

const dist = (a: Pt, b: Pt) => Math.hypot(a[0] - b[0], a[1] - b[1]);

/**
 * Mouth shape in units of the eye distance (outer corners), so the numbers do not depend on how
 * large the face is in the picture. open: gap between the inner lips; width: corner to corner;
 * jaw: chin below the eye line; round: outer lip height over width (o/u push it up).
 */
export interface MouthShape {
  open: number;
  width: number;
  jaw: number;
  round: number;
}

export function eyeDistance(points: ArrayLike<number>): number {
  return dist(pt(points, P.eyeR), pt(points, P.eyeL));
}

export function mouthShape(points: ArrayLike<number>): MouthShape {
  const g = (i: number) => pt(points, i);
  const eye = Math.max(1e-6, eyeDistance(points));
  const open = (dist(g(P.innerTop), g(P.innerBottom)) + dist(g(P.innerTopL), g(P.innerBottomL)) + dist(g(P.innerTopR), g(P.innerBottomR))) / 3;
  const width = dist(g(P.cornerR), g(P.cornerL));
  const eyeMid: Pt = [(g(P.eyeR)[0] + g(P.eyeL)[0]) / 2, (g(P.eyeR)[1] + g(P.eyeL)[1]) / 2];
  const height = dist(g(P.outerTop), g(P.outerBottom));
  return { open: open / eye, width: width / eye, jaw: dist(eyeMid, g(P.chin)) / eye, round: height / Math.max(1e-6, width) };
}

/** x' = a x + b y + c, y' = d x + e y + f */
export type Affine = [number, number, number, number, number, number];

export function apply(m: Affine, p: Pt): Pt {
  return [m[0] * p[0] + m[1] * p[1] + m[2], m[3] * p[0] + m[4] * p[1] + m[5]];
}

export function invert(m: Affine): Affine {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (Math.abs(det) < 1e-12) throw new RangeError('the transform cannot be inverted');
  return [e / det, -b / det, (b * f - c * e) / det, -d / det, a / det, (c * d - a * f) / det];
}

/** Least-squares similarity (rotation, uniform scale, shift) taking `from` onto `to`. */
export function fitSimilarity(from: Pt[], to: Pt[]): Affine {
  const n = from.length;
  let fx = 0, fy = 0, tx = 0, ty = 0;
  for (let i = 0; i < n; i++) { fx += from[i][0]; fy += from[i][1]; tx += to[i][0]; ty += to[i][1]; }
  fx /= n; fy /= n; tx /= n; ty /= n;
  let sxx = 0, sxy = 0, norm = 0;
  for (let i = 0; i < n; i++) {
    const ax = from[i][0] - fx, ay = from[i][1] - fy, bx = to[i][0] - tx, by = to[i][1] - ty;
    sxx += ax * bx + ay * by;
    sxy += ax * by - ay * bx;
    norm += ax * ax + ay * ay;
  }
  const a = sxx / Math.max(1e-12, norm);
  const b = sxy / Math.max(1e-12, norm);
  return [a, -b, tx - a * fx + b * fy, b, a, ty - b * fx - a * fy];
}

/** Least-squares affine taking `from` onto `to` (a little shear and squash follow head turns better than a similarity). */
export function fitAffine(from: Pt[], to: Pt[]): Affine {
  // Normal equations for [x y 1] * [a b c]^T = x' and the same for y'.
  let sxx = 0, sxy = 0, sx = 0, syy = 0, sy = 0;
  let xu = 0, yu = 0, u = 0, xv = 0, yv = 0, v = 0;
  const n = from.length;
  for (let i = 0; i < n; i++) {
    const [x, y] = from[i];
    const [X, Y] = to[i];
    sxx += x * x; sxy += x * y; sx += x; syy += y * y; sy += y;
    xu += x * X; yu += y * X; u += X; xv += x * Y; yv += y * Y; v += Y;
  }
  const M = [[sxx, sxy, sx], [sxy, syy, sy], [sx, sy, n]];
  const solve = (r: number[]) => solve3(M, r);
  const [a, b, c] = solve([xu, yu, u]);
  const [d, e, f] = solve([xv, yv, v]);
  if (![a, b, c, d, e, f].every(Number.isFinite)) return fitSimilarity(from, to);
  return [a, b, c, d, e, f];
}

function solve3(m: number[][], r: number[]): number[] {
  const det3 = (a: number[][]) => a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
  const d = det3(m);
  if (Math.abs(d) < 1e-9) return [NaN, NaN, NaN];
  return [0, 1, 2].map((col) => det3(m.map((row, i) => row.map((val, j) => (j === col ? r[i] : val)))) / d);
}
