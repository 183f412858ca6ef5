// Unit selection: which bank mouth each output frame shows. A Viterbi search over the bank: the
// target cost is how far a mouth is from the wanted shape (and its head pose from the base
// frame's), the join cost is near zero for the next frame of the same recording, so real runs of
// motion are replayed rather than stitched from single frames.

import type { MouthTarget } from '../mouth/target.js';
import type { MouthShape } from './landmarks.js';

export interface BankUnit {
  /** The scene frame this unit came from: consecutive frames join for free. */
  frame: number;
  shape: MouthShape;
  yaw: number;
  pitch: number;
}

export interface Pose { yaw: number; pitch: number }

/** Candidates kept per output frame, by target cost; runs continuing from the previous frame are added to them. */
const BEAM = 12;
const CONTINUATIONS = 8;
const POSE_SIGMA = 0.12;
const JOIN_HOLD = 0.4;
const JOIN_JUMP = 1.2;

/** Scales the 0..1 target onto this bank's range of shapes. */
export function shapeScale(units: BankUnit[]) {
  const q = (values: number[], p: number) => {
    const s = [...values].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.floor(p * s.length)))] ?? 0;
  };
  const opens = units.map((u) => u.shape.open);
  const widths = units.map((u) => u.shape.width);
  const lo = q(opens, 0.03), hi = q(opens, 0.97);
  const mid = q(widths, 0.5), half = Math.max(0.02, (q(widths, 0.9) - q(widths, 0.1)) / 2);
  return {
    open: (t: number) => lo + t * (hi - lo),
    width: (s: number) => mid + s * half,
    sigmaOpen: Math.max(0.01, (hi - lo) / 6),
    sigmaWidth: half,
  };
}

/**
 * One unit index per output frame. `poses[t]` is the base frame's head pose, or null when that
 * frame has no usable face (its unit will not be shown).
 */
export function selectUnits(units: BankUnit[], targets: MouthTarget[], poses: (Pose | null)[]): number[] {
  if (units.length === 0) throw new RangeError('the mouth bank is empty');
  const T = targets.length;
  if (T === 0) return [];
  const sc = shapeScale(units);
  const targetCost = (u: BankUnit, t: number) => {
    const open = (u.shape.open - sc.open(targets[t].open)) / sc.sigmaOpen;
    const width = (u.shape.width - sc.width(targets[t].spread)) / sc.sigmaWidth;
    const pose = poses[t];
    const turn = pose ? ((u.yaw - pose.yaw) ** 2 + (u.pitch - pose.pitch) ** 2) / POSE_SIGMA ** 2 : 0;
    return open * open + 0.3 * width * width + 0.5 * turn;
  };
  const next = new Map<number, number>();
  units.forEach((u, i) => next.set(u.frame, i));
  const successor = (i: number) => next.get(units[i].frame + 1);
  const joinCost = (from: number, to: number) => {
    if (successor(from) === to) return 0;
    if (from === to) return JOIN_HOLD;
    const s = successor(from) ?? from;
    const d = (units[to].shape.open - units[s].shape.open) / sc.sigmaOpen;
    return JOIN_JUMP + 0.25 * d * d;
  };

  let cands: number[] = [];
  let costs: number[] = [];
  const back: { cands: number[]; from: number[] }[] = [];
  const scratch = new Float64Array(units.length);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < units.length; i++) scratch[i] = targetCost(units[i], t);
    const set = new Set<number>(topK(scratch, BEAM));
    if (t > 0) {
      const order = cands.map((c, k) => k).sort((a, b) => costs[a] - costs[b]).slice(0, CONTINUATIONS);
      for (const k of order) { const s = successor(cands[k]); if (s !== undefined) set.add(s); set.add(cands[k]); }
    }
    const now = [...set];
    const nowCosts: number[] = [];
    const from: number[] = [];
    for (const c of now) {
      let best = Infinity, arg = -1;
      for (let k = 0; k < cands.length; k++) {
        const v = costs[k] + joinCost(cands[k], c);
        if (v < best) { best = v; arg = k; }
      }
      nowCosts.push((t === 0 ? 0 : best) + scratch[c]);
      from.push(arg);
    }
    back.push({ cands: now, from });
    cands = now;
    costs = nowCosts;
  }
  let k = costs.indexOf(Math.min(...costs));
  const path = new Array<number>(T);
  for (let t = T - 1; t >= 0; t--) {
    path[t] = back[t].cands[k];
    k = back[t].from[k];
  }
  return path;
}

function topK(values: Float64Array, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (best.length < k) { best.push(i); best.sort((a, b) => values[a] - values[b]); continue; }
    if (values[i] < values[best[k - 1]]) {
      best[k - 1] = i;
      best.sort((a, b) => values[a] - values[b]);
    }
  }
  return best;
}
