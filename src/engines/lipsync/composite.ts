// Pixel work of the embedded lip-sync, on I420 frames (what ffmpeg decodes and x264 encodes, so no
// colour conversion per frame): warping a lower face into the canonical crop, and blending a
// canonical mouth back into a base frame under a feathered mask.

import { apply, invert, type Affine, type Pt } from './landmarks.js';

/** Bilinear sample of a w x h plane at (x, y), clamped to the edges. */
function sample(plane: Buffer, offset: number, w: number, h: number, x: number, y: number): number {
  const cx = Math.min(Math.max(x, 0), w - 1.001);
  const cy = Math.min(Math.max(y, 0), h - 1.001);
  const x0 = cx | 0, y0 = cy | 0;
  const fx = cx - x0, fy = cy - y0;
  const i = offset + y0 * w + x0;
  const top = plane[i] + (plane[i + 1] - plane[i]) * fx;
  const bottom = plane[i + w] + (plane[i + w + 1] - plane[i + w]) * fx;
  return top + (bottom - top) * fy;
}

/** Fills the canonical crop `out` (cw x ch, I420) from frame `yuv` (w x h), given frame-to-canonical `toCanonical`. */
export function warpToCanonical(yuv: Buffer, w: number, h: number, toCanonical: Affine, out: Buffer, cw: number, ch: number): void {
  const back = invert(toCanonical);
  for (let v = 0; v < ch; v++) {
    for (let u = 0; u < cw; u++) {
      const x = back[0] * u + back[1] * v + back[2];
      const y = back[3] * u + back[4] * v + back[5];
      out[v * cw + u] = sample(yuv, 0, w, h, x, y) + 0.5;
    }
  }
  const lw = w * h, cwh = (cw * ch) / 4;
  for (let v = 0; v < ch / 2; v++) {
    for (let u = 0; u < cw / 2; u++) {
      const [x, y] = apply(back, [2 * u + 0.5, 2 * v + 0.5]);
      const px = (x - 0.5) / 2, py = (y - 0.5) / 2;
      out[cw * ch + v * (cw / 2) + u] = sample(yuv, lw, w / 2, h / 2, px, py) + 0.5;
      out[cw * ch + cwh + v * (cw / 2) + u] = sample(yuv, lw + lw / 4, w / 2, h / 2, px, py) + 0.5;
    }
  }
}

export interface Box { x: number; y: number; w: number; h: number }

/** A feathered mask: alpha (0..1) over `box`, row by row; 0 everywhere outside the box. */
export interface Mask { box: Box; alpha: Float32Array }

/** Even-aligned box around the polygons, grown by `pad`, inside the frame. */
function boundsOf(polygons: Pt[][], pad: number, w: number, h: number): Box | null {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const poly of polygons) for (const [x, y] of poly) { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); }
  x0 = Math.max(0, 2 * Math.floor((x0 - pad) / 2)); y0 = Math.max(0, 2 * Math.floor((y0 - pad) / 2));
  x1 = Math.min(w, 2 * Math.ceil((x1 + pad) / 2)); y1 = Math.min(h, 2 * Math.ceil((y1 + pad) / 2));
  if (!(x1 > x0 && y1 > y0)) return null;
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/** 1 inside the polygons (any of them, or with `all` every one of them; even-odd per polygon, pixel centres), 0 elsewhere. */
function rasterize(polygons: Pt[][], box: Box, all = false): Float32Array {
  const count = new Float32Array(box.w * box.h);
  const xs: number[] = [];
  for (const poly of polygons) {
    for (let row = 0; row < box.h; row++) {
      const y = box.y + row + 0.5;
      xs.length = 0;
      for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
        const [xi, yi] = poly[i], [xj, yj] = poly[j];
        if ((yi > y) !== (yj > y)) xs.push(xi + ((y - yi) / (yj - yi)) * (xj - xi));
      }
      xs.sort((a, b) => a - b);
      for (let k = 0; k + 1 < xs.length; k += 2) {
        const from = Math.max(0, Math.ceil(xs[k] - box.x - 0.5));
        const to = Math.min(box.w - 1, Math.floor(xs[k + 1] - box.x - 0.5));
        for (let col = from; col <= to; col++) count[row * box.w + col]++;
      }
    }
  }
  const need = all ? polygons.length : 1;
  for (let i = 0; i < count.length; i++) count[i] = count[i] >= need ? 1 : 0;
  return count;
}

/** Box blur of radius r along rows then columns, in place (running sums: cost independent of r). */
function boxBlur(m: Float32Array, w: number, h: number, r: number): void {
  const line = new Float32Array(Math.max(w, h));
  for (let y = 0; y < h; y++) blurRun(m, y * w, 1, w, r, line);
  for (let x = 0; x < w; x++) blurRun(m, x, w, h, r, line);
}

/** Box blur of the n values m[start], m[start + stride], ... in place; `line` is scratch of at least n. */
function blurRun(m: Float32Array, start: number, stride: number, n: number, r: number, line: Float32Array): void {
  const norm = 1 / (2 * r + 1);
  const at = (i: number) => (i >= 0 && i < n ? m[start + i * stride] : 0);
  let acc = 0;
  for (let i = -r; i <= r; i++) acc += at(i);
  for (let i = 0; i < n; i++) {
    line[i] = acc * norm;
    acc += at(i + r + 1) - at(i - r);
  }
  for (let i = 0; i < n; i++) m[start + i * stride] = line[i];
}

/**
 * The mask: 1 on and inside the polygons (their union, or with `combine` 'intersection' the part
 * inside all of them), falling smoothly to exactly 0 at `feather` pixels outside that region (two
 * box blurs make a tent; doubling puts the region's edge at 1).
 */
export function featherMask(polygons: Pt[][], feather: number, w: number, h: number, combine: 'union' | 'intersection' = 'union'): Mask | null {
  const r = Math.max(1, Math.round(feather / 2));
  const box = boundsOf(polygons, 2 * r + 2, w, h);
  if (!box) return null;
  const alpha = rasterize(polygons, box, combine === 'intersection');
  boxBlur(alpha, box.w, box.h, r);
  boxBlur(alpha, box.w, box.h, r);
  for (let i = 0; i < alpha.length; i++) alpha[i] = alpha[i] < 1e-3 ? 0 : Math.min(1, 2 * alpha[i]);
  return { box, alpha };
}

export interface Patch {
  /** The canonical crop, I420 cw x ch. */
  crop: Buffer;
  cw: number;
  ch: number;
  /** Canonical pixels to base-frame pixels. */
  toFrame: Affine;
}

/**
 * Blends `patch` into `base` (I420, w x h) under `mask`. The patch's brightness and colour are
 * shifted to match the base in the feather band, so the skin tone meets without a step. Pixels
 * where the mask is 0, or the patch has no picture, are not touched.
 */
export function blendPatch(base: Buffer, w: number, h: number, patch: Patch, mask: Mask): void {
  const { box, alpha } = mask;
  const back = invert(patch.toFrame);
  const { cw, ch, crop } = patch;
  // Luma: sample the patch, then match the mean in the band, then blend.
  const src = new Float32Array(box.w * box.h);
  const a = new Float32Array(box.w * box.h);
  let sumBase = 0, sumSrc = 0, n = 0;
  for (let row = 0; row < box.h; row++) {
    for (let col = 0; col < box.w; col++) {
      const k = row * box.w + col;
      const al = alpha[k];
      if (al === 0) continue;
      const x = box.x + col, y = box.y + row;
      const u = back[0] * x + back[1] * y + back[2], v = back[3] * x + back[4] * y + back[5];
      if (u < 0 || v < 0 || u > cw - 1 || v > ch - 1) continue;
      src[k] = sample(crop, 0, cw, ch, u, v);
      a[k] = al;
      if (al < 0.95) { sumBase += base[y * w + x]; sumSrc += src[k]; n++; }
    }
  }
  const dy = n > 0 ? (sumBase - sumSrc) / n : 0;
  for (let row = 0; row < box.h; row++) {
    for (let col = 0; col < box.w; col++) {
      const k = row * box.w + col;
      if (a[k] === 0) continue;
      const i = (box.y + row) * w + box.x + col;
      const value = base[i] + (src[k] + dy - base[i]) * a[k];
      base[i] = value < 0 ? 0 : value > 255 ? 255 : value + 0.5;
    }
  }
  // Chroma at half size; the mask is read at the block's top-left luma pixel.
  const lw = w * h, c = cw * ch;
  for (const [planeAt, cropAt] of [[lw, c], [lw + lw / 4, c + c / 4]] as const) {
    const hw = box.w / 2, hh = box.h / 2;
    const s = new Float32Array(hw * hh);
    const al = new Float32Array(hw * hh);
    let sb = 0, ss = 0, m = 0;
    for (let row = 0; row < hh; row++) {
      for (let col = 0; col < hw; col++) {
        const weight = a[2 * row * box.w + 2 * col];
        if (weight === 0) continue;
        const [x, y] = [box.x + 2 * col + 0.5, box.y + 2 * row + 0.5];
        const u = back[0] * x + back[1] * y + back[2], v = back[3] * x + back[4] * y + back[5];
        const k = row * hw + col;
        s[k] = sample(crop, cropAt, cw / 2, ch / 2, (u - 0.5) / 2, (v - 0.5) / 2);
        al[k] = weight;
        if (weight < 0.95) { sb += base[planeAt + (box.y / 2 + row) * (w / 2) + box.x / 2 + col]; ss += s[k]; m++; }
      }
    }
    const d = m > 0 ? (sb - ss) / m : 0;
    for (let row = 0; row < hh; row++) {
      for (let col = 0; col < hw; col++) {
        const k = row * hw + col;
        if (al[k] === 0) continue;
        const i = planeAt + (box.y / 2 + row) * (w / 2) + box.x / 2 + col;
        const value = base[i] + (s[k] + d - base[i]) * al[k];
        base[i] = value < 0 ? 0 : value > 255 ? 255 : value + 0.5;
      }
    }
  }
}
