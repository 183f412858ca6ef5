// The thin-bank fallback: when the training clip holds too few mouth shapes to choose from (a few
// seconds, or no speech), the base frame's own mouth is opened by a warp: the lower lip and chin
// are pushed down by the wanted opening and the gap between the lips is filled with the colour of
// the inside of the most open mouth the clip has (or a dark mouth colour) under the upper lip,
// darkening to the mouth's cavity further down. Never a patch from
// elsewhere, so it cannot look worse than the plain loop by more than the opening itself.

import { keptPt, type FrameInfo, fullFromKept } from './bank.js';
import { apply, eyeDistance, type Pt } from './landmarks.js';

/** The widest gap between the lips, in eye distances (a wide-open "ah"). */
const MAX_GAP = 0.2;
const DARK_MOUTH: [number, number, number] = [40, 124, 146];
/** Share of the opened gap, from the upper lip down, filled with the measured inside colour before it darkens. */
const TEETH_SHARE = 0.3;

export interface MouthFill {
  crop: Buffer;
  cw: number;
  ch: number;
  info: FrameInfo;
}

export function openMouth(frame: Buffer, w: number, h: number, base: FrameInfo & { points: number[] }, open: number, fill: MouthFill | null): boolean {
  const eye = eyeDistance(fullFromKept(base.points));
  const gap = Math.max(0, Math.min(1, open)) * MAX_GAP * eye;
  if (gap < 1) return false;
  const top = keptPt(base.points, 13), bottom = keptPt(base.points, 14);
  const cr = keptPt(base.points, 61), cl = keptPt(base.points, 291), chin = keptPt(base.points, 152);
  const centre: Pt = [(top[0] + bottom[0]) / 2, (top[1] + bottom[1]) / 2];
  const len = Math.max(1, Math.hypot(cl[0] - cr[0], cl[1] - cr[1]));
  const ex: Pt = [(cl[0] - cr[0]) / len, (cl[1] - cr[1]) / len];
  const ey: Pt = [-ex[1], ex[0]];
  const half = 0.55 * len;
  const chinAt = (chin[0] - centre[0]) * ey[0] + (chin[1] - centre[1]) * ey[1];
  const below = chinAt + 0.5 * eye;
  const colour = fill ? innerColour(fill) : DARK_MOUTH;
  // The region that changes, in frame pixels (even-aligned for chroma).
  const corners: Pt[] = [[-half, -2], [half, -2], [-half, below + gap], [half, below + gap]].map(([lx, ly]) => [centre[0] + lx * ex[0] + ly * ey[0], centre[1] + lx * ex[1] + ly * ey[1]]);
  const x0 = Math.max(0, 2 * Math.floor(Math.min(...corners.map((p) => p[0])) / 2) - 2), x1 = Math.min(w, 2 * Math.ceil(Math.max(...corners.map((p) => p[0])) / 2) + 2);
  const y0 = Math.max(0, 2 * Math.floor(Math.min(...corners.map((p) => p[1])) / 2) - 2), y1 = Math.min(h, 2 * Math.ceil(Math.max(...corners.map((p) => p[1])) / 2) + 2);
  if (!(x1 > x0 && y1 > y0)) return false;
  const original = Buffer.from(frame);
  const lw = w * h;
  const planes = [
    { at: 0, s: 1, value: colour[0], dark: DARK_MOUTH[0] },
    { at: lw, s: 2, value: colour[1], dark: DARK_MOUTH[1] },
    { at: lw + lw / 4, s: 2, value: colour[2], dark: DARK_MOUTH[2] },
  ];
  for (const p of planes) {
    const pw = w / p.s, ph = h / p.s;
    for (let y = y0 / p.s; y < y1 / p.s; y++) {
      for (let x = x0 / p.s; x < x1 / p.s; x++) {
        // This plane pixel's centre in luma pixels, then in the mouth's own axes.
        const X = p.s * x + (p.s - 1) / 2, Y = p.s * y + (p.s - 1) / 2;
        const dx = X - centre[0], dy = Y - centre[1];
        const lx = dx * ex[0] + dy * ex[1], ly = dx * ey[0] + dy * ey[1];
        if (ly < 0 || ly >= below + gap || Math.abs(lx) >= half) continue;
        const across = Math.cos((Math.PI / 2) * (lx / half)) ** 2;
        const g = gap * across;
        if (g < 0.5) continue;
        const i = p.at + y * pw + x;
        if (ly < g) {
          // Inside the opened lips; a one-pixel soft edge at the lips.
          const a = Math.min(1, ly, g - ly, 1) * Math.min(1, across * 3);
          // The measured inside colour under the upper lip (on a smiling face, the upper teeth),
          // darkening to the mouth's cavity below it: a wide gap is not one flat slab of tooth colour.
          const depth = Math.min(1, Math.max(0, ly / g / TEETH_SHARE - 1));
          const value = p.s === 1 ? Math.min(p.value, p.value + (p.dark - p.value) * depth) : p.value + ((p.dark - p.value) * depth) / 2;
          frame[i] = frame[i] + (value - frame[i]) * a + 0.5;
          continue;
        }
        // Lower lip and chin, moved down by g, easing back to nothing below the chin.
        const shift = ly <= chinAt + g ? g : g * (1 - (ly - chinAt - g) / (below - chinAt));
        const [sxL, syL] = [X - shift * ey[0], Y - shift * ey[1]];
        const sx = (sxL - (p.s - 1) / 2) / p.s, sy = (syL - (p.s - 1) / 2) / p.s;
        frame[i] = bilinear(original, p.at, pw, ph, sx, sy) + 0.5;
      }
    }
  }
  return true;
}

function bilinear(plane: Buffer, at: number, w: number, h: number, x: number, y: number): number {
  const cx = Math.min(Math.max(x, 0), w - 1.001), cy = Math.min(Math.max(y, 0), h - 1.001);
  const x0 = cx | 0, y0 = cy | 0, fx = cx - x0, fy = cy - y0;
  const i = at + y0 * w + x0;
  const t = plane[i] + (plane[i + 1] - plane[i]) * fx;
  const b = plane[i + w] + (plane[i + w + 1] - plane[i + w]) * fx;
  return t + (b - t) * fy;
}

/** Mean Y, U, V along the gap between the inner lips of the most open bank frame (its canonical crop). */
function innerColour(fill: MouthFill): [number, number, number] {
  const { info, crop, cw, ch } = fill;
  if (!info.points || !info.toCanonical) return DARK_MOUTH;
  const a = apply(info.toCanonical, keptPt(info.points, 13)), b = apply(info.toCanonical, keptPt(info.points, 14));
  if (Math.hypot(a[0] - b[0], a[1] - b[1]) < 3) return DARK_MOUTH;
  const sum = [0, 0, 0];
  const steps = 8;
  for (let k = 1; k < steps; k++) {
    const x = Math.round(a[0] + ((b[0] - a[0]) * k) / steps), y = Math.round(a[1] + ((b[1] - a[1]) * k) / steps);
    if (x < 0 || y < 0 || x >= cw || y >= ch) return DARK_MOUTH;
    sum[0] += crop[y * cw + x];
    sum[1] += crop[cw * ch + (y >> 1) * (cw / 2) + (x >> 1)];
    sum[2] += crop[cw * ch + (cw * ch) / 4 + (y >> 1) * (cw / 2) + (x >> 1)];
  }
  return sum.map((v) => v / (steps - 1)) as [number, number, number];
}
