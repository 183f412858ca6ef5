// The drawing kit of the built-in avatars: paint helpers, the studio backdrop, and the human
// parts (neck, torso, face, ears, nose, brows, eyes, mouth) the characters are made of, each drawn
// with 2D canvas paths in the design space of frame.ts.
import type { Viseme } from '../mouth/visemes.js';
import { DESIGN_HEIGHT, DESIGN_WIDTH, type Ctx, type EyeState, type Palette } from './frame.js';

// ---------------------------------------------------------------------------------------------
// Paint helpers

export type Stops = Array<[number, string]>;

export function linear(ctx: Ctx, x0: number, y0: number, x1: number, y1: number, stops: Stops) {
  const g = ctx.createLinearGradient(x0, y0, x1, y1);
  for (const [at, color] of stops) g.addColorStop(at, color);
  return g;
}

export function radial(ctx: Ctx, x: number, y: number, r0: number, r1: number, stops: Stops, x1 = x, y1 = y) {
  const g = ctx.createRadialGradient(x, y, r0, x1, y1, r1);
  for (const [at, color] of stops) g.addColorStop(at, color);
  return g;
}

/** '#rrggbb' with an alpha, for gradients that fade a colour out. */
export function alpha(hex: string, a: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

export function fillEllipse(ctx: Ctx, x: number, y: number, rx: number, ry: number, style: Ctx['fillStyle']): void {
  ctx.beginPath();
  ctx.ellipse(x, y, rx, ry, 0, 0, Math.PI * 2);
  ctx.fillStyle = style;
  ctx.fill();
}

/** A tiny deterministic generator, so backgrounds are identical on every run. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// Studio background

export function studioBackground(ctx: Ctx, width: number, height: number, p: Palette, seed: number): void {
  ctx.fillStyle = linear(ctx, 0, 0, 0, height, [[0, p.bgTop], [1, p.bgBottom]]);
  ctx.fillRect(0, 0, width, height);

  const unit = Math.min(width / DESIGN_WIDTH, height / DESIGN_HEIGHT);
  const random = seeded(seed);
  for (let i = 0; i < 14; i++) {
    const x = random() * width;
    const y = random() * height * 0.55;
    const r = (24 + random() * 60) * unit;
    const color = p.bokeh[i % p.bokeh.length];
    fillEllipse(ctx, x, y, r, r, radial(ctx, x, y, 0, r, [[0, alpha(color, 0.16)], [0.7, alpha(color, 0.1)], [1, alpha(color, 0)]]));
  }

  // Key light on the wall behind the head, then a vignette to pull the eye to the centre.
  const cx = width / 2;
  const cy = height - (DESIGN_HEIGHT - 480) * unit;
  const glowR = Math.max(width, height) * 0.45;
  ctx.fillStyle = radial(ctx, cx, cy, 0, glowR, [[0, alpha(p.bgGlow, 0.55)], [1, alpha(p.bgGlow, 0)]]);
  ctx.fillRect(0, 0, width, height);
  const farR = Math.hypot(width, height) * 0.6;
  ctx.fillStyle = radial(ctx, cx, height * 0.45, farR * 0.45, farR, [[0, 'rgba(0,0,0,0)'], [1, 'rgba(0,0,0,0.28)']]);
  ctx.fillRect(0, 0, width, height);
}

// ---------------------------------------------------------------------------------------------
// Shared human parts

export function drawNeck(ctx: Ctx, p: Palette, half: number): void {
  ctx.beginPath();
  ctx.moveTo(360 - half, 600);
  ctx.lineTo(360 - half - 4, 750);
  ctx.quadraticCurveTo(360, 800, 360 + half + 4, 750);
  ctx.lineTo(360 + half, 600);
  ctx.closePath();
  // The top is in the chin's shadow.
  ctx.fillStyle = linear(ctx, 0, 640, 0, 760, [[0, p.skinShadow], [0.55, p.skin], [1, p.skin]]);
  ctx.fill();
  ctx.fillStyle = linear(ctx, 360 - half, 0, 360 + half, 0, [
    [0, alpha(p.skinShadow, 0.7)], [0.25, alpha(p.skinShadow, 0)], [0.75, alpha(p.skinShadow, 0)], [1, alpha(p.skinShadow, 0.7)],
  ]);
  ctx.fill();
}

/** Shoulders and torso down to the bottom edge; `spread` widens the shoulders. */
export function torsoPath(ctx: Ctx, spread: number): void {
  const s = spread;
  ctx.beginPath();
  ctx.moveTo(300, 742);
  ctx.bezierCurveTo(250, 766, 160 - s, 786, 118 - s, 828);
  ctx.bezierCurveTo(72 - s, 870, 58 - s, 945, 52 - s, 1030);
  ctx.lineTo(40 - s, 1290);
  ctx.lineTo(680 + s, 1290);
  ctx.lineTo(668 + s, 1030);
  ctx.bezierCurveTo(662 + s, 945, 648 + s, 870, 602 + s, 828);
  ctx.bezierCurveTo(560 + s, 786, 470, 766, 420, 742);
  ctx.closePath();
}

/** Fills the current path as cloth lit from the front-left. */
export function shadeCloth(ctx: Ctx, p: Palette): void {
  ctx.fillStyle = linear(ctx, 20, 0, 700, 0, [
    [0, p.outfitShadow], [0.22, p.outfit], [0.42, p.outfitLight], [0.62, p.outfit], [1, p.outfitShadow],
  ]);
  ctx.fill();
  ctx.fillStyle = linear(ctx, 0, 760, 0, 1280, [[0, 'rgba(0,0,0,0)'], [1, 'rgba(0,0,0,0.22)']]);
  ctx.fill();
}

export interface FaceShape {
  top: number;
  cheek: number;
  jaw: number;
  chin: number;
}

export function facePath(ctx: Ctx, f: FaceShape): void {
  const { top, cheek, jaw, chin } = f;
  ctx.beginPath();
  ctx.moveTo(360, top);
  ctx.bezierCurveTo(360 + cheek * 0.62, top, 360 + cheek, top + 60, 360 + cheek, 480);
  ctx.bezierCurveTo(360 + cheek, 560, 360 + jaw + 28, 620, 360 + jaw, chin - 26);
  ctx.bezierCurveTo(360 + jaw * 0.55, chin - 8, 380, chin, 360, chin);
  ctx.bezierCurveTo(340, chin, 360 - jaw * 0.55, chin - 8, 360 - jaw, chin - 26);
  ctx.bezierCurveTo(360 - jaw - 28, 620, 360 - cheek, 560, 360 - cheek, 480);
  ctx.bezierCurveTo(360 - cheek, top + 60, 360 - cheek * 0.62, top, 360, top);
  ctx.closePath();
}

export function drawFace(ctx: Ctx, p: Palette, f: FaceShape): void {
  facePath(ctx, f);
  ctx.fillStyle = radial(ctx, 330, 440, 10, 260, [[0, p.skinLight], [0.5, p.skin], [1, p.skinShadow]]);
  ctx.fill();
  // Cheeks.
  for (const x of [290, 430]) fillEllipse(ctx, x, 562, 34, 20, radial(ctx, x, 562, 0, 34, [[0, alpha(p.blush, 0.32)], [1, alpha(p.blush, 0)]]));
}

export function drawEars(ctx: Ctx, p: Palette, halfSpan: number): void {
  for (const side of [-1, 1]) {
    const x = 360 + side * halfSpan;
    fillEllipse(ctx, x, 505, 17, 31, p.skin);
    fillEllipse(ctx, x + side * 2, 507, 9, 19, alpha(p.skinShadow, 0.8));
  }
}

export function drawNose(ctx: Ctx, p: Palette): void {
  ctx.lineCap = 'round';
  ctx.strokeStyle = alpha(p.skinShadow, 0.55);
  ctx.lineWidth = 3;
  ctx.beginPath();
  ctx.moveTo(373, 505);
  ctx.quadraticCurveTo(381, 530, 378, 548);
  ctx.stroke();
  ctx.strokeStyle = p.skinShadow;
  ctx.lineWidth = 3;
  ctx.beginPath();
  ctx.moveTo(344, 560);
  ctx.quadraticCurveTo(360, 571, 376, 560);
  ctx.stroke();
  fillEllipse(ctx, 349, 558, 4, 2.5, alpha(p.skinShadow, 0.8));
  fillEllipse(ctx, 371, 558, 4, 2.5, alpha(p.skinShadow, 0.8));
  fillEllipse(ctx, 358, 545, 7, 5, 'rgba(255,255,255,0.22)');
}

/** A tapered brow from the inner end (thick) to the outer end (thin). */
export function drawBrows(ctx: Ctx, color: string, y: number, thickness: number, raise: number): void {
  ctx.fillStyle = color;
  for (const side of [-1, 1]) {
    const inner = 360 + side * 24;
    const outer = 360 + side * 88;
    const mid = 360 + side * 58;
    const by = y - raise;
    ctx.beginPath();
    ctx.moveTo(inner, by + 2 - thickness / 2);
    ctx.quadraticCurveTo(mid, by - 10 - thickness / 2, outer, by + 4);
    ctx.quadraticCurveTo(mid, by - 10 + thickness * 0.45, inner, by + 2 + thickness / 2);
    ctx.closePath();
    ctx.fill();
  }
}

/** Brows lift a little on open vowels, which makes speech look livelier for free. */
export function browRaise(viseme: Viseme): number {
  return viseme === 'AA' ? 3 : viseme === 'OH' || viseme === 'AH' ? 1.5 : 0;
}

export interface EyeStyle {
  y: number;
  spread: number;
  lashWidth: number;
  /** Winged lashes at the outer corner. */
  wing: boolean;
}

export function drawEyes(ctx: Ctx, p: Palette, style: EyeStyle, state: EyeState): void {
  for (const side of [-1, 1] as const) drawEye(ctx, p, style, 360 + side * style.spread, side, state);
}

/** One almond eye; `side` mirrors it so the outer corner points away from the nose. */
export function drawEye(ctx: Ctx, p: Palette, style: EyeStyle, cx: number, side: -1 | 1, state: EyeState): void {
  const ew = 25;
  const eh = 13;
  ctx.save();
  ctx.translate(cx, style.y);
  ctx.scale(side, 1);
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';

  // Crease above the lid.
  ctx.strokeStyle = alpha(p.skinShadow, 0.6);
  ctx.lineWidth = 1.6;
  ctx.beginPath();
  ctx.moveTo(-ew * 0.75, -eh * 1.25);
  ctx.quadraticCurveTo(0, -eh * 2.1, ew * 0.9, -eh * 1.05);
  ctx.stroke();

  if (state === 'closed') {
    lidLine(ctx, p, style, ew, eh * 0.75);
    ctx.restore();
    return;
  }

  almondPath(ctx, ew, eh);
  ctx.fillStyle = linear(ctx, 0, -eh, 0, eh, [[0, '#e4e2de'], [0.4, '#fbfbf9'], [1, '#f3f1ee']]);
  ctx.fill();
  ctx.save();
  ctx.clip();
  // Unmirror so the catch-lights sit on the same side in both eyes.
  ctx.scale(side, 1);
  fillEllipse(ctx, 0, 1, eh * 1.02, eh * 1.02, radial(ctx, 0, 1, 2, eh * 1.02, [[0, p.iris], [0.75, p.iris], [1, '#1b1411']]));
  fillEllipse(ctx, 0, 1, eh * 0.45, eh * 0.45, '#0d0a09');
  fillEllipse(ctx, -4, -4, 3.4, 3.4, 'rgba(255,255,255,0.95)');
  fillEllipse(ctx, 4, 5, 1.6, 1.6, 'rgba(255,255,255,0.6)');
  ctx.scale(side, 1);
  if (state === 'half') {
    // The upper lid covers the top half of the eye.
    ctx.beginPath();
    ctx.moveTo(-ew - 2, -eh * 2);
    ctx.lineTo(ew + 2, -eh * 2);
    ctx.lineTo(ew + 2, -1);
    ctx.quadraticCurveTo(0, eh * 0.35, -ew - 2, 2);
    ctx.closePath();
    ctx.fillStyle = linear(ctx, 0, -eh, 0, 2, [[0, p.skin], [1, p.skinShadow]]);
    ctx.fill();
  }
  ctx.restore();

  if (state === 'half') {
    lidLine(ctx, p, style, ew, eh * 0.3);
  } else {
    // Upper lid line with lashes, a faint lower lid.
    ctx.strokeStyle = p.lashes;
    ctx.lineWidth = style.lashWidth;
    ctx.beginPath();
    ctx.moveTo(-ew, 2);
    ctx.bezierCurveTo(-ew * 0.45, -eh * 1.45, ew * 0.5, -eh * 1.4, ew, -2);
    ctx.stroke();
    flicks(ctx, p, style, ew, -2);
    ctx.strokeStyle = alpha(p.skinShadow, 0.7);
    ctx.lineWidth = 1.2;
    ctx.beginPath();
    ctx.moveTo(-ew * 0.8, 5);
    ctx.bezierCurveTo(-ew * 0.4, eh * 1.05, ew * 0.5, eh * 1.0, ew * 0.95, 1);
    ctx.stroke();
  }
  ctx.restore();
}

export function almondPath(ctx: Ctx, ew: number, eh: number): void {
  ctx.beginPath();
  ctx.moveTo(-ew, 2);
  ctx.bezierCurveTo(-ew * 0.45, -eh * 1.45, ew * 0.5, -eh * 1.4, ew, -2);
  ctx.bezierCurveTo(ew * 0.5, eh * 1.0, -ew * 0.45, eh * 1.05, -ew, 2);
  ctx.closePath();
}

/** The lash line of a closed or half-closed eye, sagging by `sag`. */
export function lidLine(ctx: Ctx, p: Palette, style: EyeStyle, ew: number, sag: number): void {
  ctx.strokeStyle = p.lashes;
  ctx.lineWidth = style.lashWidth;
  ctx.beginPath();
  ctx.moveTo(-ew, 2);
  ctx.quadraticCurveTo(0, sag + 2, ew, -1);
  ctx.stroke();
  flicks(ctx, p, style, ew, -1);
}

/** A small winged flick of lashes at the outer corner (only for characters with `wing`). */
export function flicks(ctx: Ctx, p: Palette, style: EyeStyle, ew: number, y: number): void {
  if (!style.wing) return;
  ctx.fillStyle = p.lashes;
  ctx.beginPath();
  ctx.moveTo(ew * 0.55, y - 8);
  ctx.quadraticCurveTo(ew * 0.95, y - 5, ew + 9, y - 9);
  ctx.quadraticCurveTo(ew + 2, y + 1, ew - 3, y + 1);
  ctx.closePath();
  ctx.fill();
}

// ---------------------------------------------------------------------------------------------
// Human mouth

export interface MouthShape {
  /** Half-width of the opening between the lip corners. */
  hw: number;
  /** Opening above and below the corner line. */
  top: number;
  bottom: number;
  /** 0 = a lens between sharp corners, 1 = an oval (rounded lips). */
  round: number;
  /** How far the corners turn up. */
  smile: number;
  /** 0..1 how much of the opening the upper and lower teeth fill. */
  upperTeeth: number;
  lowerTeeth: number;
  /** 0..1 how much tongue shows; lifted = its tip up behind the teeth (l, th, d). */
  tongue: number;
  tongueLifted: boolean;
  lipUpper: number;
  lipLower: number;
}

export const CLOSED = { top: 0, bottom: 0, upperTeeth: 0, lowerTeeth: 0, tongue: 0, tongueLifted: false };

export const MOUTH_SHAPES: Record<Viseme, MouthShape> = {
  REST: { ...CLOSED, hw: 31, round: 0.2, smile: 3, lipUpper: 6, lipLower: 8 },
  MBP: { ...CLOSED, hw: 29, round: 0.2, smile: 1, lipUpper: 4, lipLower: 5 },
  AA: { hw: 33, top: 9, bottom: 30, round: 0.45, smile: 0, upperTeeth: 0.35, lowerTeeth: 0, tongue: 0.7, tongueLifted: false, lipUpper: 5, lipLower: 7 },
  AH: { hw: 31, top: 6, bottom: 16, round: 0.4, smile: 1, upperTeeth: 0.5, lowerTeeth: 0, tongue: 0.5, tongueLifted: false, lipUpper: 5.5, lipLower: 7.5 },
  EE: { hw: 38, top: 4, bottom: 8, round: 0.1, smile: 4, upperTeeth: 0.6, lowerTeeth: 0.4, tongue: 0, tongueLifted: false, lipUpper: 5, lipLower: 6 },
  OO: { hw: 15, top: 5, bottom: 8, round: 1, smile: 0, upperTeeth: 0, lowerTeeth: 0, tongue: 0.3, tongueLifted: false, lipUpper: 7.5, lipLower: 9 },
  OH: { hw: 22, top: 9, bottom: 20, round: 0.95, smile: 0, upperTeeth: 0.25, lowerTeeth: 0, tongue: 0.5, tongueLifted: false, lipUpper: 6.5, lipLower: 8.5 },
  FV: { hw: 32, top: 4, bottom: 2, round: 0.2, smile: 1, upperTeeth: 1, lowerTeeth: 0, tongue: 0, tongueLifted: false, lipUpper: 5.5, lipLower: 4.5 },
  L: { hw: 31, top: 6, bottom: 12, round: 0.35, smile: 1, upperTeeth: 0.4, lowerTeeth: 0, tongue: 1, tongueLifted: true, lipUpper: 5.5, lipLower: 7.5 },
  S: { hw: 35, top: 3, bottom: 4, round: 0.15, smile: 2, upperTeeth: 0.55, lowerTeeth: 0.45, tongue: 0, tongueLifted: false, lipUpper: 5, lipLower: 6.5 },
};

export function drawHumanMouth(ctx: Ctx, p: Palette, x: number, y: number, size: number, viseme: Viseme): void {
  const s = MOUTH_SHAPES[viseme];
  ctx.save();
  ctx.translate(x, y);
  ctx.scale(size, size);
  // A soft shadow under the lower lip gives the mouth some depth.
  fillEllipse(ctx, 0, s.bottom + s.lipLower + 4, s.hw * 0.55, 4, radial(ctx, 0, s.bottom + s.lipLower + 4, 0, s.hw * 0.55, [
    [0, alpha(p.skinShadow, 0.45)], [1, alpha(p.skinShadow, 0)],
  ]));

  lipsPath(ctx, s);
  ctx.fillStyle = linear(ctx, 0, -s.top - s.lipUpper, 0, s.bottom + s.lipLower, [[0, p.lipsDark], [0.5, p.lips], [1, p.lips]]);
  ctx.fill();
  fillEllipse(ctx, -s.hw * 0.15, s.bottom + s.lipLower * 0.45, s.hw * 0.3, s.lipLower * 0.25, 'rgba(255,255,255,0.18)');

  if (s.top + s.bottom < 0.5) {
    drawLipSeam(ctx, p, s);
  } else {
    drawOpening(ctx, p, s);
  }
  ctx.restore();
}

export function lipsPath(ctx: Ctx, s: MouthShape): void {
  const hw = s.hw + 4;
  const c = -s.smile;
  const top = -(s.top + s.lipUpper);
  const bottom = s.bottom + s.lipLower;
  const k = 0.5 + 0.5 * s.round;
  const rise = 0.6 + 0.3 * s.round;
  ctx.beginPath();
  ctx.moveTo(-hw, c);
  // Upper lip: corner, left peak of the cupid's bow, centre dip, right peak, corner.
  ctx.bezierCurveTo(-hw * (0.8 + 0.2 * s.round), c + (top - c) * rise, -hw * 0.45, top - 1, -hw * 0.22, top);
  ctx.quadraticCurveTo(-hw * 0.08, top, 0, top + 2.5);
  ctx.quadraticCurveTo(hw * 0.08, top, hw * 0.22, top);
  ctx.bezierCurveTo(hw * 0.45, top - 1, hw * (0.8 + 0.2 * s.round), c + (top - c) * rise, hw, c);
  ctx.bezierCurveTo(hw * k, bottom / 0.75, -hw * k, bottom / 0.75, -hw, c);
  ctx.closePath();
}

export function openingPath(ctx: Ctx, s: MouthShape): void {
  const c = -s.smile;
  const k = 0.5 + 0.5 * s.round;
  ctx.beginPath();
  ctx.moveTo(-s.hw, c);
  ctx.bezierCurveTo(-s.hw * k, -s.top / 0.75, s.hw * k, -s.top / 0.75, s.hw, c);
  ctx.bezierCurveTo(s.hw * k, s.bottom / 0.75, -s.hw * k, s.bottom / 0.75, -s.hw, c);
  ctx.closePath();
}

export function drawLipSeam(ctx: Ctx, p: Palette, s: MouthShape): void {
  ctx.strokeStyle = p.mouthInside;
  ctx.lineWidth = 2.4;
  ctx.lineCap = 'round';
  ctx.beginPath();
  ctx.moveTo(-s.hw - 3, -s.smile);
  ctx.bezierCurveTo(-s.hw * 0.4, 1.5, s.hw * 0.4, 1.5, s.hw + 3, -s.smile);
  ctx.stroke();
}

export function drawOpening(ctx: Ctx, p: Palette, s: MouthShape): void {
  openingPath(ctx, s);
  ctx.fillStyle = p.mouthInside;
  ctx.fill();
  ctx.save();
  ctx.clip();
  const span = s.top + s.bottom + 2;
  if (s.tongue > 0) {
    const ty = s.tongueLifted ? -s.top + span * 0.45 : s.bottom + 6 - s.tongue * 9;
    fillEllipse(ctx, 0, ty, s.hw * 0.62, s.tongueLifted ? span * 0.4 : 10, radial(ctx, 0, ty - 4, 1, s.hw * 0.62, [[0, p.tongue], [1, alpha(p.tongue, 0.75)]]));
  }
  if (s.upperTeeth > 0) {
    const h = Math.min(9, span * s.upperTeeth);
    ctx.fillStyle = linear(ctx, 0, -s.top - 1, 0, -s.top + h, [[0, p.teeth], [0.8, p.teeth], [1, '#d9d4cc']]);
    ctx.fillRect(-s.hw, -s.top - 2, s.hw * 2, h + 1);
  }
  if (s.lowerTeeth > 0) {
    const h = Math.min(7, span * s.lowerTeeth);
    ctx.fillStyle = '#e9e5de';
    ctx.fillRect(-s.hw, s.bottom - h, s.hw * 2, h + 2);
  }
  ctx.restore();
}
