// The frame of a built-in avatar: a 720x1280 design space scaled to the output size, and three
// layers: a studio background and the body, which never change, and the head, which is drawn per
// face state (mouth shape, eyelids) and moved by the idle pose. The split lets the renderer draw
// the static layers once. The characters (characters.ts) fill the layers with parts (parts.ts).
import type { Image, SKRSContext2D } from '@napi-rs/canvas';
import type { Sex } from '../../domain/status.js';
import type { Viseme } from '../mouth/visemes.js';

export type Ctx = SKRSContext2D;

export const DESIGN_WIDTH = 720;
export const DESIGN_HEIGHT = 1280;
/** Idle poses move no part of the head more than this many design pixels from rest. */
export const MAX_HEAD_OFFSET = 4;

export type EyeState = 'open' | 'half' | 'closed';

/**
 * Small idle head motion: a shift in design pixels, and a tilt in radians about the centre of the
 * mouth, so that a tilting head leaves the lips (and lip-sync) where they are.
 */
export interface Pose {
  dx: number;
  dy: number;
  tilt: number;
}

export interface FaceState {
  viseme: Viseme;
  eyes: EyeState;
  pose: Pose;
}

export const REST_POSE: Pose = { dx: 0, dy: 0, tilt: 0 };
export const NEUTRAL_STATE: FaceState = { viseme: 'REST', eyes: 'open', pose: REST_POSE };

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Palette {
  bgTop: string;
  bgBottom: string;
  /** The soft key light on the wall behind the head. */
  bgGlow: string;
  /** Out-of-focus studio lights. */
  bokeh: string[];
  skin: string;
  skinLight: string;
  skinShadow: string;
  blush: string;
  hair: string;
  hairLight: string;
  lips: string;
  lipsDark: string;
  mouthInside: string;
  teeth: string;
  tongue: string;
  iris: string;
  lashes: string;
  outfit: string;
  outfitLight: string;
  outfitShadow: string;
  shirt: string;
  accent: string;
}

export interface CharacterDef {
  /** Scene id: public avatars use negative ids so they never collide with trained ones. */
  id: number;
  /** Short lower-case name, also accepted wherever an id is. */
  key: string;
  sceneName: string;
  description: string;
  sex: Sex;
  /** The public voice that suits the character. */
  speakerId: string;
  palette: Palette;
  /** Centre of the mouth at rest, design space. */
  mouth: { x: number; y: number };
  drawBackground(ctx: Ctx, width: number, height: number): void;
  /** Design space; static. */
  drawBody(ctx: Ctx): void;
  /** Design space; the caller has already applied the pose. */
  drawHead(ctx: Ctx, state: FaceState): void;
}

// ---------------------------------------------------------------------------------------------
// Layout

/** Scale and offset from design space to an output of `width` x `height`; the body sits on the bottom edge. */
export function layout(width: number, height: number): { scale: number; ox: number; oy: number } {
  const scale = Math.min(width / DESIGN_WIDTH, height / DESIGN_HEIGHT);
  return { scale, ox: (width - DESIGN_WIDTH * scale) / 2, oy: height - DESIGN_HEIGHT * scale };
}

export function applyDesignTransform(ctx: Ctx, width: number, height: number): void {
  const { scale, ox, oy } = layout(width, height);
  ctx.setTransform(scale, 0, 0, scale, ox, oy);
}

export function applyPose(ctx: Ctx, def: CharacterDef, pose: Pose): void {
  ctx.translate(def.mouth.x + pose.dx, def.mouth.y + pose.dy);
  ctx.rotate(pose.tilt);
  ctx.translate(-def.mouth.x, -def.mouth.y);
}

/** Draws one complete frame. The renderer caches the static layers instead of calling this per frame. */
export function drawCharacter(ctx: Ctx, def: CharacterDef, state: FaceState, width: number, height: number, background?: Image): void {
  drawStaticLayers(ctx, def, width, height, background);
  drawHeadLayer(ctx, def, state, width, height);
}

/** `background`, when given, replaces the character's studio backdrop (it is drawn stretched to the frame). */
export function drawStaticLayers(ctx: Ctx, def: CharacterDef, width: number, height: number, background?: Image): void {
  ctx.save();
  ctx.resetTransform();
  if (background) ctx.drawImage(background, 0, 0, width, height);
  else def.drawBackground(ctx, width, height);
  applyDesignTransform(ctx, width, height);
  def.drawBody(ctx);
  ctx.restore();
}

export function drawHeadLayer(ctx: Ctx, def: CharacterDef, state: FaceState, width: number, height: number): void {
  ctx.save();
  applyDesignTransform(ctx, width, height);
  applyPose(ctx, def, state.pose);
  def.drawHead(ctx, state);
  ctx.restore();
}
