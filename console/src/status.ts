export type Kind = 'tts' | 'training' | 'voice' | 'video';

const labels: Record<Kind, Record<number, string>> = {
  tts: { 0: 'Preparing', 1: 'Processing', 2: 'Succeeded', 3: 'Failed' },
  training: { 0: 'Pending', 1: 'Training', 2: 'Succeeded', 3: 'Failed', 4: 'Rejected' },
  voice: { 0: 'Pending', 1: 'Training', 2: 'Succeeded', 3: 'Failed', 4: 'Expired' },
  video: { [-1]: 'Editing', 1: 'Queued', 2: 'Processing', 3: 'Succeeded', 4: 'Failed', 6: 'Canceled', 7: 'Failed' },
};
const succeeded: Record<Kind, number> = { tts: 2, training: 2, voice: 2, video: 3 };
const unfinished: Record<Kind, number[]> = { tts: [0, 1], training: [0, 1], voice: [0, 1], video: [-1, 1, 2] };

interface Status { label: string; done: boolean; ok: boolean }

export const statusOf = (kind: Kind, status: number): Status => ({
  label: labels[kind][status] ?? `Status ${status}`,
  done: !unfinished[kind].includes(status),
  ok: status === succeeded[kind],
});
