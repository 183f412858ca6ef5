/** A cloned voice's speakerId is "C_" and its row id; public voices have names (en-us-female). */
const PREFIX = 'C_';
export const cloneSpeakerId = (id: number) => `${PREFIX}${id}`;
export function cloneIdOf(speakerId: string): number | null {
  const m = /^C_(\d{1,15})$/.exec(speakerId);
  return m ? Number(m[1]) : null;
}
