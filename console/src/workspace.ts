import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { describeStatus, type AccountData, type Avatar, type ClonedVoice, type DhpClient, type TaskKind, type Training, type Tts, type Video, type Voice } from '../../src/client/index';
import { errorMessage } from './format';

/** The app's quotas and its newest tasks of each kind. */
export interface Workspace { account: AccountData['account']; tts: Tts[]; trainings: Training[]; clones: ClonedVoice[]; videos: Video[] }
/** What every app may use. */
interface Catalog { voices: Voice[]; avatars: Avatar[] }

const ACTIVE_POLL_MS = 1500;
const IDLE_POLL_MS = 15_000;
const LIST = { size: 50 };

export const names = {
  tts: (t: Tts) => `Speech #${t.id}`,
  video: (v: Video) => `Video #${v.id}${v.videoName ? ` “${v.videoName}”` : ''}`,
  training: (t: Training) => `Avatar “${t.title}”`,
  voice: (c: ClonedVoice) => `Voice “${c.ttsName}”`,
};

const tasksOf = (w: Workspace) => [
  ...w.tts.map((t) => ({ kind: 'tts' as TaskKind, key: `tts ${t.id}`, name: names.tts(t), status: t.status })),
  ...w.videos.map((v) => ({ kind: 'video' as TaskKind, key: `video ${v.id}`, name: names.video(v), status: v.synthesisStatus })),
  ...w.trainings.map((t) => ({ kind: 'training' as TaskKind, key: `training ${t.id}`, name: names.training(t), status: t.status })),
  ...w.clones.map((c) => ({ kind: 'voice' as TaskKind, key: `voice ${c.speakerId}`, name: names.voice(c), status: c.status })),
];

/** "Speech #3: Succeeded." for every task that has ended since `before`. */
function endedSince(before: Workspace, now: Workspace): string {
  const was = new Map(tasksOf(before).map((t) => [t.key, t.status]));
  return tasksOf(now)
    .filter((t) => was.get(t.key) !== t.status && describeStatus(t.kind, t.status).done)
    .map((t) => `${t.name}: ${describeStatus(t.kind, t.status).label}.`)
    .join(' ');
}

/**
 * Loads the workspace and keeps it fresh: every 1.5 s while a task is unfinished,
 * every 15 s otherwise. Announces tasks as they end.
 */
export function useWorkspace(client: DhpClient, announce: (message: string) => void) {
  const [data, setData] = useState<Workspace | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [round, setRound] = useState(0);
  const latest = useRef(0);
  const previous = useRef<Workspace | null>(null);

  const refresh = useCallback(async () => {
    const n = ++latest.current;
    try {
      const [{ account }, tts, trainings, clones, videos] = await Promise.all([
        client.account.get(), client.tts.list(LIST), client.trainings.list(LIST), client.voices.listClones(LIST), client.videos.list(LIST),
      ]);
      if (n !== latest.current) return;
      const next = { account, tts: tts.records, trainings: trainings.records, clones: clones.records, videos: videos.records };
      const ended = previous.current && endedSince(previous.current, next);
      previous.current = next;
      setData(next);
      setError(null);
      if (ended) announce(ended);
    } catch (e) {
      if (n === latest.current) setError(`Could not refresh: ${errorMessage(e)}`);
    } finally {
      if (n === latest.current) setRound((r) => r + 1);
    }
  }, [client, announce]);

  useEffect(() => { void refresh(); }, [refresh]);
  useEffect(() => {
    if (round === 0) return;
    const busy = previous.current !== null && tasksOf(previous.current).some((t) => !describeStatus(t.kind, t.status).done);
    const timer = setTimeout(refresh, busy ? ACTIVE_POLL_MS : IDLE_POLL_MS);
    return () => clearTimeout(timer);
  }, [round, refresh]);

  return { data, error, refresh };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** The public voices and avatars, loaded once. */
export function useCatalog(client: DhpClient) {
  const [catalog, setCatalog] = useState<Catalog | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    Promise.all([collect(client.voices.listPublic({ size: 100 })), collect(client.avatars.listPublic({ size: 100 }))]).then(
      ([voices, avatars]) => setCatalog({ voices, avatars }),
      (e) => setError(`Could not load the public voices and avatars: ${errorMessage(e)}`),
    );
  }, [client]);
  return { catalog, error };
}

export const readyVoices = (clones: ClonedVoice[]) => clones.filter((c) => describeStatus('voice', c.status).ok);
export const trainedAvatars = (trainings: Training[]) =>
  trainings.filter((t): t is Training & { sceneId: number } => describeStatus('training', t.status).ok && t.sceneId !== null);
