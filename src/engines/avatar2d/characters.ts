// The built-in public avatars: original characters drawn entirely with 2D canvas paths (no image
// assets, no third-party art), so they can ship with the platform and render on any CPU.
//
// Everything is drawn in a 720x1280 design space and scaled to the output size. A frame is three
// layers: a studio background and the body, which never change, and the head, which is drawn per
// face state (mouth shape, eyelids) and moved by the idle pose. The split lets the renderer draw
// the static layers once.

import { Sex } from '../../domain/status.js';
import type { Viseme } from '../mouth/visemes.js';
import { Ctx, EyeState, FaceState, Box, Palette, CharacterDef, layout } from './frame.js';
import {
  linear, radial, alpha, fillEllipse, seeded, studioBackground, drawNeck, torsoPath, shadeCloth, FaceShape, drawFace, drawEars, drawNose, drawBrows, browRaise, drawEyes, drawHumanMouth,
} from './parts.js';

// ---------------------------------------------------------------------------------------------
// Mira: a friendly presenter with a short dark bob and a teal jacket

const miraPalette: Palette = {
  bgTop: '#dfe7ec', bgBottom: '#9fb3c2', bgGlow: '#fff6e8', bokeh: ['#ffffff', '#ffe2b8', '#bfe6ea'],
  skin: '#f0c4a2', skinLight: '#fbdcc4', skinShadow: '#c98f6c', blush: '#ec8f86',
  hair: '#2a1d1a', hairLight: '#6b4a3c',
  lips: '#c8626b', lipsDark: '#9e4650', mouthInside: '#4a1d22', teeth: '#fbf8f2', tongue: '#d9737a',
  iris: '#6b4526', lashes: '#221614',
  outfit: '#1f8a86', outfitLight: '#35aaa4', outfitShadow: '#0f5754', shirt: '#f6efe4', accent: '#f2a33a',
};

const MIRA_FACE: FaceShape = { top: 330, cheek: 128, jaw: 56, chin: 676 };

function drawMiraBody(ctx: Ctx): void {
  const p = miraPalette;
  drawNeck(ctx, p, 46);
  torsoPath(ctx, -20);
  shadeCloth(ctx, p);

  // Cream top with a scoop neckline inside the jacket's V.
  ctx.beginPath();
  ctx.moveTo(296, 750);
  ctx.quadraticCurveTo(360, 780, 424, 750);
  ctx.lineTo(384, 895);
  ctx.lineTo(360, 952);
  ctx.lineTo(336, 895);
  ctx.closePath();
  ctx.fillStyle = linear(ctx, 0, 750, 0, 950, [[0, p.shirt], [1, '#d8cfc2']]);
  ctx.fill();
  ctx.beginPath();
  ctx.moveTo(314, 748);
  ctx.quadraticCurveTo(360, 822, 406, 748);
  ctx.closePath();
  ctx.fillStyle = p.skin;
  ctx.fill();

  for (const side of [-1, 1]) lapel(ctx, p, side);

  // A small clip-on microphone: she is a presenter, after all.
  ctx.fillStyle = '#1d1f22';
  ctx.beginPath();
  ctx.roundRect(422, 860, 14, 26, 6);
  ctx.fill();
  fillEllipse(ctx, 429, 864, 4, 4, '#4a4f55');
  // Accent pin on the other lapel.
  fillEllipse(ctx, 284, 870, 9, 9, radial(ctx, 281, 867, 1, 9, [[0, '#ffd488'], [1, p.accent]]));
}

function lapel(ctx: Ctx, p: Palette, side: number): void {
  const x = (v: number) => 360 + side * v;
  ctx.beginPath();
  ctx.moveTo(x(64), 748);
  ctx.lineTo(x(0), 965);
  ctx.lineTo(x(44), 920);
  ctx.lineTo(x(84), 860);
  ctx.lineTo(x(96), 816);
  ctx.lineTo(x(74), 806);
  ctx.lineTo(x(92), 766);
  ctx.closePath();
  ctx.fillStyle = linear(ctx, x(0), 0, x(96), 0, [[0, p.outfitShadow], [1, p.outfit]]);
  ctx.fill();
  ctx.strokeStyle = alpha(p.outfitLight, 0.9);
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(x(64), 748);
  ctx.lineTo(x(0), 965);
  ctx.stroke();
}

function drawMiraHead(ctx: Ctx, state: FaceState): void {
  const p = miraPalette;
  drawMiraHairBack(ctx, p);
  drawFace(ctx, p, MIRA_FACE);
  drawNose(ctx, p);
  drawBrows(ctx, '#2e201c', 448, 7, browRaise(state.viseme));
  drawEyes(ctx, p, { y: 492, spread: 57, lashWidth: 3.6, wing: true }, state.eyes);
  drawHumanMouth(ctx, p, 360, 612, 1.1, state.viseme);
  drawMiraHairFront(ctx, p);
}

function hairFill(ctx: Ctx, p: Palette): Ctx['fillStyle'] {
  return radial(ctx, 320, 330, 10, 330, [[0, p.hairLight], [0.35, p.hair], [1, p.hair]]);
}

/** The bob behind the face, ending just above the jaw. */
function drawMiraHairBack(ctx: Ctx, p: Palette): void {
  ctx.beginPath();
  ctx.moveTo(360, 280);
  ctx.bezierCurveTo(472, 280, 526, 360, 522, 470);
  ctx.bezierCurveTo(520, 540, 526, 606, 512, 644);
  ctx.quadraticCurveTo(482, 662, 452, 642);
  ctx.lineTo(268, 642);
  ctx.quadraticCurveTo(238, 662, 208, 644);
  ctx.bezierCurveTo(194, 606, 200, 540, 198, 470);
  ctx.bezierCurveTo(194, 360, 248, 280, 360, 280);
  ctx.closePath();
  ctx.fillStyle = hairFill(ctx, p);
  ctx.fill();
}

/** A side-swept fringe and the side locks framing the cheeks. */
function drawMiraHairFront(ctx: Ctx, p: Palette): void {
  ctx.fillStyle = hairFill(ctx, p);
  ctx.beginPath();
  ctx.moveTo(206, 480);
  ctx.bezierCurveTo(198, 352, 260, 292, 360, 290);
  ctx.bezierCurveTo(462, 292, 522, 352, 514, 480);
  ctx.bezierCurveTo(504, 432, 474, 392, 424, 374);
  ctx.bezierCurveTo(382, 362, 328, 384, 288, 424);
  ctx.bezierCurveTo(262, 450, 246, 474, 238, 504);
  ctx.closePath();
  ctx.fill();

  for (const side of [-1, 1]) {
    const x = (v: number) => 360 + side * v;
    ctx.beginPath();
    ctx.moveTo(x(156), 420);
    ctx.bezierCurveTo(x(160), 530, x(152), 600, x(138), 650);
    ctx.quadraticCurveTo(x(124), 642, x(118), 622);
    ctx.bezierCurveTo(x(124), 580, x(128), 500, x(136), 430);
    ctx.closePath();
    ctx.fill();
  }

  // Sheen on the crown.
  ctx.strokeStyle = alpha(p.hairLight, 0.45);
  ctx.lineCap = 'round';
  ctx.lineWidth = 9;
  ctx.beginPath();
  ctx.moveTo(272, 336);
  ctx.quadraticCurveTo(336, 300, 420, 314);
  ctx.stroke();
  ctx.lineWidth = 4;
  ctx.beginPath();
  ctx.moveTo(300, 400);
  ctx.quadraticCurveTo(360, 362, 430, 372);
  ctx.stroke();
}

const mira: CharacterDef = {
  id: -101,
  key: 'mira',
  sceneName: 'Mira (presenter)',
  description: 'A friendly presenter with short dark hair and a teal jacket.',
  sex: Sex.Female,
  speakerId: 'en-us-female',
  palette: miraPalette,
  mouth: { x: 360, y: 612 },
  drawBackground: (ctx, w, h) => studioBackground(ctx, w, h, miraPalette, 101),
  drawBody: drawMiraBody,
  drawHead: drawMiraHead,
};

// ---------------------------------------------------------------------------------------------
// Kai: glasses, a short beard and a mustard sweater

const kaiPalette: Palette = {
  bgTop: '#efe4d6', bgBottom: '#b99f86', bgGlow: '#fff3dc', bokeh: ['#ffffff', '#ffd9a0', '#f5c0a0'],
  skin: '#c98d64', skinLight: '#dfa77c', skinShadow: '#9a6344', blush: '#c96a55',
  hair: '#231a16', hairLight: '#57433a',
  lips: '#a9605a', lipsDark: '#84443f', mouthInside: '#3b1719', teeth: '#f7f3ea', tongue: '#c86a6c',
  iris: '#4a3122', lashes: '#1d1512',
  outfit: '#cf9530', outfitLight: '#e6b250', outfitShadow: '#8d6119', shirt: '#eef3f7', accent: '#3b6f9e',
};

const KAI_FACE: FaceShape = { top: 322, cheek: 132, jaw: 74, chin: 684 };

function drawKaiBody(ctx: Ctx): void {
  const p = kaiPalette;
  drawNeck(ctx, p, 52);
  torsoPath(ctx, 18);
  shadeCloth(ctx, p);
  knitTexture(ctx, p);

  // Ribbed crew-neck band following the neckline.
  ctx.beginPath();
  ctx.moveTo(282, 738);
  ctx.quadraticCurveTo(360, 842, 438, 738);
  ctx.lineTo(416, 738);
  ctx.quadraticCurveTo(360, 816, 304, 738);
  ctx.closePath();
  ctx.fillStyle = linear(ctx, 0, 740, 0, 800, [[0, p.outfitShadow], [1, p.outfit]]);
  ctx.fill();
  ctx.strokeStyle = alpha(p.outfitShadow, 0.6);
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  for (let i = 1; i < 16; i++) {
    // Short ribs across the band, fanned along the curve.
    const t = i / 16;
    const ox = 282 + 156 * t;
    const oy = 738 + 104 * 2 * t * (1 - t);
    const ix = 304 + 112 * t;
    const iy = 738 + 78 * 2 * t * (1 - t);
    ctx.moveTo(ix, iy);
    ctx.lineTo(ox, oy);
  }
  ctx.stroke();
}

/** Faint vertical knit ribs across the sweater. */
function knitTexture(ctx: Ctx, p: Palette): void {
  ctx.save();
  torsoPath(ctx, 18);
  ctx.clip();
  ctx.strokeStyle = alpha(p.outfitShadow, 0.18);
  ctx.lineWidth = 2;
  ctx.beginPath();
  for (let x = 30; x < 700; x += 11) {
    ctx.moveTo(x, 740);
    ctx.lineTo(x + (x - 360) * 0.06, 1290);
  }
  ctx.stroke();
  ctx.restore();
}

function drawKaiHead(ctx: Ctx, state: FaceState): void {
  const p = kaiPalette;
  drawEars(ctx, p, 133);
  drawFace(ctx, p, KAI_FACE);
  drawKaiBeard(ctx, p);
  drawNose(ctx, p);
  drawBrows(ctx, p.hair, 446, 10, browRaise(state.viseme));
  drawEyes(ctx, p, { y: 494, spread: 56, lashWidth: 3, wing: false }, state.eyes);
  drawKaiMoustache(ctx, p);
  drawHumanMouth(ctx, p, 360, 614, 1.12, state.viseme);
  drawKaiHair(ctx, p);
  drawGlasses(ctx);
}

function drawKaiHair(ctx: Ctx, p: Palette): void {
  ctx.beginPath();
  ctx.moveTo(226, 478);
  ctx.bezierCurveTo(214, 360, 266, 294, 360, 292);
  ctx.bezierCurveTo(454, 294, 506, 360, 494, 478);
  ctx.lineTo(484, 478);
  ctx.bezierCurveTo(482, 424, 470, 392, 440, 380);
  ctx.bezierCurveTo(410, 370, 382, 378, 360, 368);
  ctx.bezierCurveTo(338, 378, 310, 370, 280, 380);
  ctx.bezierCurveTo(250, 392, 238, 424, 236, 478);
  ctx.closePath();
  ctx.fillStyle = hairFill(ctx, p);
  ctx.fill();
  // Short strokes suggest a textured crop.
  ctx.strokeStyle = alpha(p.hairLight, 0.3);
  ctx.lineWidth = 2;
  ctx.lineCap = 'round';
  const random = seeded(7);
  ctx.beginPath();
  for (let i = 0; i < 26; i++) {
    const x = 262 + random() * 196;
    const y = 312 + random() * 50;
    ctx.moveTo(x, y);
    ctx.lineTo(x + 4 + random() * 4, y - 3 - random() * 3);
  }
  ctx.stroke();
}

/** A full, short beard from the sideburns around the chin; the mouth is drawn on top of it. */
function drawKaiBeard(ctx: Ctx, p: Palette): void {
  ctx.beginPath();
  ctx.moveTo(228, 462);
  ctx.bezierCurveTo(226, 580, 262, 650, 300, 676);
  ctx.bezierCurveTo(326, 696, 344, 704, 360, 704);
  ctx.bezierCurveTo(376, 704, 394, 696, 420, 676);
  ctx.bezierCurveTo(458, 650, 494, 580, 492, 462);
  ctx.lineTo(482, 462);
  ctx.bezierCurveTo(480, 540, 462, 580, 424, 596);
  ctx.quadraticCurveTo(360, 586, 296, 596);
  ctx.bezierCurveTo(258, 580, 240, 540, 238, 462);
  ctx.closePath();
  ctx.fillStyle = radial(ctx, 360, 600, 30, 150, [[0, alpha(p.hair, 0.95)], [0.8, alpha(p.hair, 0.92)], [1, alpha(p.hair, 0.75)]]);
  ctx.fill();
}

function drawKaiMoustache(ctx: Ctx, p: Palette): void {
  ctx.beginPath();
  ctx.moveTo(310, 608);
  ctx.bezierCurveTo(318, 586, 344, 580, 360, 588);
  ctx.bezierCurveTo(376, 580, 402, 586, 410, 608);
  ctx.quadraticCurveTo(360, 594, 310, 608);
  ctx.closePath();
  ctx.fillStyle = p.hair;
  ctx.fill();
}

function drawGlasses(ctx: Ctx): void {
  for (const side of [-1, 1]) {
    const cx = 360 + side * 56;
    ctx.beginPath();
    ctx.roundRect(cx - 42, 466, 84, 58, 18);
    ctx.fillStyle = 'rgba(190,215,240,0.10)';
    ctx.fill();
    // A diagonal glint across the lens.
    ctx.save();
    ctx.clip();
    ctx.fillStyle = 'rgba(255,255,255,0.16)';
    ctx.beginPath();
    ctx.moveTo(cx - 20, 466);
    ctx.lineTo(cx + 4, 466);
    ctx.lineTo(cx - 22, 524);
    ctx.lineTo(cx - 46, 524);
    ctx.closePath();
    ctx.fill();
    ctx.restore();
    ctx.beginPath();
    ctx.roundRect(cx - 42, 466, 84, 58, 18);
    ctx.strokeStyle = '#1f252e';
    ctx.lineWidth = 5;
    ctx.stroke();
  }
  ctx.beginPath();
  ctx.moveTo(346, 486);
  ctx.quadraticCurveTo(360, 476, 374, 486);
  ctx.moveTo(274, 480);
  ctx.lineTo(232, 476);
  ctx.moveTo(446, 480);
  ctx.lineTo(488, 476);
  ctx.stroke();
}

const kai: CharacterDef = {
  id: -102,
  key: 'kai',
  sceneName: 'Kai (host)',
  description: 'A relaxed host with glasses, a short beard and a mustard sweater.',
  sex: Sex.Male,
  speakerId: 'en-us-male',
  palette: kaiPalette,
  mouth: { x: 360, y: 614 },
  drawBackground: (ctx, w, h) => studioBackground(ctx, w, h, kaiPalette, 102),
  drawBody: drawKaiBody,
  drawHead: drawKaiHead,
};

// ---------------------------------------------------------------------------------------------
// Bolt: a friendly robot with LED eyes and an LED mouth

const boltPalette: Palette = {
  bgTop: '#1d2b44', bgBottom: '#0b1222', bgGlow: '#3c7fd0', bokeh: ['#5fd3ff', '#8a7bff', '#ffffff'],
  skin: '#c9d3df', skinLight: '#f2f6fa', skinShadow: '#7b8796', blush: '#ff8fa3',
  hair: '#39424f', hairLight: '#66717f',
  lips: '#5fe3ff', lipsDark: '#1aa6d6', mouthInside: '#0a1426', teeth: '#ffffff', tongue: '#ff8fa3',
  iris: '#5fe3ff', lashes: '#0a1426',
  outfit: '#aab6c4', outfitLight: '#e4eaf1', outfitShadow: '#5f6b7a', shirt: '#0a1426', accent: '#ff9b3d',
};

/** LED bar heights (fraction of the display) across the mouth for each viseme. */
const BOLT_BARS: Record<Viseme, { height: number; width: number; ring: boolean }> = {
  REST: { height: 0, width: 1, ring: false },
  MBP: { height: 0.04, width: 0.8, ring: false },
  AA: { height: 1, width: 1, ring: false },
  AH: { height: 0.6, width: 0.95, ring: false },
  EE: { height: 0.35, width: 1.15, ring: false },
  OO: { height: 0.35, width: 0.4, ring: true },
  OH: { height: 0.75, width: 0.6, ring: true },
  FV: { height: 0.2, width: 0.9, ring: false },
  L: { height: 0.45, width: 0.9, ring: false },
  S: { height: 0.15, width: 1.05, ring: false },
};

function drawBoltBody(ctx: Ctx): void {
  const p = boltPalette;
  // Segmented neck.
  ctx.fillStyle = linear(ctx, 326, 0, 394, 0, [[0, p.outfitShadow], [0.4, p.outfitLight], [1, p.outfitShadow]]);
  ctx.fillRect(330, 640, 60, 190);
  ctx.fillStyle = alpha('#000000', 0.25);
  for (let y = 690; y < 820; y += 26) ctx.fillRect(330, y, 60, 6);

  ctx.beginPath();
  ctx.roundRect(110, 810, 500, 560, [120, 120, 30, 30]);
  shadeCloth(ctx, p);
  ctx.strokeStyle = alpha(p.outfitShadow, 0.9);
  ctx.lineWidth = 4;
  ctx.stroke();

  // Chest panel with a glowing core.
  ctx.beginPath();
  ctx.roundRect(250, 900, 220, 170, 26);
  ctx.fillStyle = linear(ctx, 0, 900, 0, 1070, [[0, '#1a2740'], [1, '#0b1222']]);
  ctx.fill();
  fillEllipse(ctx, 360, 985, 60, 60, radial(ctx, 360, 985, 0, 60, [[0, alpha(p.lips, 0.9)], [0.35, alpha(p.lips, 0.45)], [1, alpha(p.lips, 0)]]));
  fillEllipse(ctx, 360, 985, 20, 20, '#dffaff');
  for (const [i, color] of ['#ff5f6d', '#ffd166', '#5fe3ff'].entries()) fillEllipse(ctx, 282 + i * 22, 1045, 6, 6, color);
  // Shoulder joints.
  for (const x of [150, 570]) {
    fillEllipse(ctx, x, 880, 42, 42, radial(ctx, x - 10, 870, 4, 44, [[0, p.outfitLight], [1, p.outfitShadow]]));
    fillEllipse(ctx, x, 880, 12, 12, p.hair);
  }
}

function drawBoltHead(ctx: Ctx, state: FaceState): void {
  const p = boltPalette;
  // Antenna with a glowing tip.
  ctx.strokeStyle = p.hair;
  ctx.lineWidth = 8;
  ctx.beginPath();
  ctx.moveTo(360, 350);
  ctx.lineTo(360, 282);
  ctx.stroke();
  fillEllipse(ctx, 360, 272, 34, 34, radial(ctx, 360, 272, 0, 34, [[0, alpha(p.accent, 0.8)], [1, alpha(p.accent, 0)]]));
  fillEllipse(ctx, 360, 272, 13, 13, p.accent);

  // Ear disks.
  for (const x of [218, 502]) {
    fillEllipse(ctx, x, 500, 30, 44, radial(ctx, x - 8, 488, 4, 48, [[0, p.outfitLight], [1, p.outfitShadow]]));
    fillEllipse(ctx, x, 500, 10, 16, p.hair);
  }

  // Head shell and the glass face display.
  ctx.beginPath();
  ctx.roundRect(226, 340, 268, 320, 80);
  ctx.fillStyle = radial(ctx, 320, 400, 20, 330, [[0, p.skinLight], [0.55, p.skin], [1, p.skinShadow]]);
  ctx.fill();
  ctx.beginPath();
  ctx.roundRect(252, 400, 216, 226, 54);
  ctx.fillStyle = linear(ctx, 0, 400, 0, 626, [[0, '#17233a'], [1, '#070d1a']]);
  ctx.fill();
  ctx.strokeStyle = alpha(p.skinShadow, 0.9);
  ctx.lineWidth = 4;
  ctx.stroke();
  // Reflection on the glass.
  ctx.fillStyle = 'rgba(255,255,255,0.07)';
  ctx.beginPath();
  ctx.moveTo(270, 420);
  ctx.lineTo(340, 420);
  ctx.lineTo(280, 560);
  ctx.lineTo(262, 540);
  ctx.closePath();
  ctx.fill();

  for (const x of [314, 406]) drawBoltEye(ctx, p, x, 484, state.eyes);
  for (const x of [284, 436]) fillEllipse(ctx, x, 540, 16, 9, radial(ctx, x, 540, 0, 16, [[0, alpha(p.blush, 0.55)], [1, alpha(p.blush, 0)]]));
  drawBoltMouth(ctx, p, 360, 574, state.viseme);
}

function drawBoltEye(ctx: Ctx, p: Palette, x: number, y: number, eyes: EyeState): void {
  fillEllipse(ctx, x, y, 40, 40, radial(ctx, x, y, 0, 40, [[0, alpha(p.iris, 0.45)], [1, alpha(p.iris, 0)]]));
  if (eyes === 'closed') {
    ctx.strokeStyle = p.iris;
    ctx.lineWidth = 6;
    ctx.lineCap = 'round';
    ctx.beginPath();
    ctx.moveTo(x - 20, y + 2);
    ctx.quadraticCurveTo(x, y + 10, x + 20, y + 2);
    ctx.stroke();
    return;
  }
  fillEllipse(ctx, x, y, 21, eyes === 'half' ? 9 : 21, radial(ctx, x - 5, y - 5, 1, 22, [[0, '#e8fdff'], [0.5, p.iris], [1, p.lipsDark]]));
  fillEllipse(ctx, x - 7, y - 7, 5, eyes === 'half' ? 2.5 : 5, 'rgba(255,255,255,0.9)');
}

function drawBoltMouth(ctx: Ctx, p: Palette, x: number, y: number, viseme: Viseme): void {
  const shape = BOLT_BARS[viseme];
  ctx.save();
  ctx.translate(x, y);
  fillEllipse(ctx, 0, 0, 90, 34, radial(ctx, 0, 0, 0, 90, [[0, alpha(p.lips, 0.16 + shape.height * 0.2)], [1, alpha(p.lips, 0)]]));
  ctx.strokeStyle = p.lips;
  ctx.fillStyle = p.lips;
  ctx.lineCap = 'round';
  if (shape.ring) {
    ctx.lineWidth = 6;
    ctx.beginPath();
    ctx.ellipse(0, 0, 56 * shape.width, 8 + 22 * shape.height, 0, 0, Math.PI * 2);
    ctx.stroke();
  } else if (shape.height === 0) {
    // A gentle LED smile at rest.
    ctx.lineWidth = 6;
    ctx.beginPath();
    ctx.moveTo(-48, -4);
    ctx.quadraticCurveTo(0, 14, 48, -4);
    ctx.stroke();
  } else {
    const bars = 9;
    for (let i = 0; i < bars; i++) {
      const t = (i - (bars - 1) / 2) / ((bars - 1) / 2);
      // Taller in the middle, like an open mouth.
      const h = 4 + 46 * shape.height * (1 - 0.55 * t * t);
      const bx = t * 52 * shape.width;
      ctx.beginPath();
      ctx.roundRect(bx - 4, -h / 2, 8, h, 4);
      ctx.fill();
    }
  }
  ctx.restore();
}

const bolt: CharacterDef = {
  id: -103,
  key: 'bolt',
  sceneName: 'Bolt (robot)',
  description: 'A cheerful robot with LED eyes and an LED mouth.',
  sex: Sex.Male,
  speakerId: 'en-gb-male',
  palette: boltPalette,
  mouth: { x: 360, y: 574 },
  drawBackground: (ctx, w, h) => studioBackground(ctx, w, h, boltPalette, 103),
  drawBody: drawBoltBody,
  drawHead: drawBoltHead,
};

// ---------------------------------------------------------------------------------------------
// Registry

export const CHARACTERS: readonly CharacterDef[] = [mira, kai, bolt];

/** Looks a character up by scene id (number or numeric string) or by key, e.g. -101, '-101', 'mira'. */
export function findCharacter(ref: string | number): CharacterDef | undefined {
  const text = String(ref).trim().toLowerCase();
  return CHARACTERS.find((c) => String(c.id) === text || c.key === text);
}

export function requireCharacter(ref: string | number): CharacterDef {
  const def = findCharacter(ref);
  if (!def) throw new Error(`unknown built-in avatar '${ref}'`);
  return def;
}

/**
 * The mouth region in output pixels: where the mouth's look changes while speaking, for lip-sync
 * checks. It is kept inside the face (skin, beard or display) even at the widest idle pose, so
 * only the mouth itself changes what the box shows; the extreme corners of the widest shapes fall
 * just outside it.
 */
export function mouthBox(character: CharacterDef | string | number, width: number, height: number): Box {
  const def = typeof character === 'object' ? character : requireCharacter(character);
  const { scale, ox, oy } = layout(width, height);
  const x = Math.round(ox + (def.mouth.x - 46) * scale);
  const y = Math.round(oy + (def.mouth.y - 22) * scale);
  return { x, y, width: Math.round(92 * scale), height: Math.round(66 * scale) };
}
