import type { ComponentChildren } from 'preact';
import { describeStatus, SynthesisStatus, type ClonedVoice, type TaskKind, type Training, type Tts, type Video } from '../../src/client/index';
import { seconds } from './format';
import { names, type Workspace } from './workspace';

export function Tasks({ workspace }: { workspace: Workspace | null }) {
  const w = workspace;
  const empty = w && !w.tts.length && !w.videos.length && !w.trainings.length && !w.clones.length;
  return (
    <section id="tasks" aria-labelledby="tasks-title">
      <h2 id="tasks-title">Tasks</h2>
      {!w ? <p>Loading…</p> : empty ? <p>No tasks yet: create one above.</p> : (
        <>
          <Group title="Speech" items={w.tts} render={(t) => <TtsTask key={t.id} t={t} />} />
          <Group title="Videos" items={w.videos} render={(v) => <VideoTask key={v.id} v={v} />} />
          <Group title="Avatar trainings" items={w.trainings} render={(t) => <TrainingTask key={t.id} t={t} />} />
          <Group title="Voice clones" items={w.clones} render={(c) => <CloneTask key={c.speakerId} c={c} />} />
        </>
      )}
    </section>
  );
}

function Group<T>({ title, items, render }: { title: string; items: T[]; render: (item: T) => ComponentChildren }) {
  if (!items.length) return null;
  return (
    <>
      <h3>{title}</h3>
      <ul class="tasks">{items.map(render)}</ul>
    </>
  );
}

function Task({ kind, status, name, meta, children }: { kind: TaskKind; status: number; name: string; meta: string; children?: ComponentChildren }) {
  const s = describeStatus(kind, status);
  return (
    <li class="task">
      <p class="task-head">
        <strong>{name}</strong> <span class={`badge ${s.ok ? 'ok' : s.done ? 'bad' : 'busy'}`}>{s.label}</span>
      </p>
      <p class="meta">{meta}</p>
      {children}
    </li>
  );
}

function Downloads({ links }: { links: [string, string | null][] }) {
  return (
    <p class="links">
      {links.filter(([, url]) => url).map(([label, url]) => <a key={label} href={url!} download>Download {label}</a>)}
    </p>
  );
}

const Reason = ({ text }: { text: string | null }) => (text ? <p class="reason">{text}</p> : null);

function TtsTask({ t }: { t: Tts }) {
  const ok = describeStatus('tts', t.status).ok && t.ttsUrl;
  return (
    <Task kind="tts" status={t.status} name={names.tts(t)} meta={[t.speakerId, t.createTime, t.duration && seconds(t.duration)].filter(Boolean).join(' · ')}>
      {ok && <audio controls preload="metadata" src={t.ttsUrl!} aria-label={names.tts(t)} />}
      {ok && <Downloads links={[['WAV', t.ttsUrl], ['SRT', t.srtUrl]]} />}
      <Reason text={t.reason ?? null} />
    </Task>
  );
}

function VideoTask({ v }: { v: Video }) {
  const ok = describeStatus('video', v.synthesisStatus).ok && v.videoUrl;
  return (
    <Task kind="video" status={v.synthesisStatus} name={names.video(v)} meta={[v.createTime, v.durationMs && seconds(Number(v.durationMs))].filter(Boolean).join(' · ')}>
      {v.synthesisStatus === SynthesisStatus.Processing && v.progress !== undefined && (
        <progress max={100} value={v.progress} aria-label={`${names.video(v)}: ${v.progress}% done`}>{v.progress}%</progress>
      )}
      {ok && <video controls preload="metadata" src={v.videoUrl!} poster={v.coverUrl ?? undefined} aria-label={names.video(v)} />}
      {ok && <Downloads links={[['MP4', v.videoUrl], ['SRT', v.srtUrl], ['cover', v.coverUrl]]} />}
      <Reason text={v.failReason} />
    </Task>
  );
}

function TrainingTask({ t }: { t: Training }) {
  return (
    <Task kind="training" status={t.status} name={names.training(t)} meta={[t.sceneId !== null && `Scene ID ${t.sceneId}`, t.createTime].filter(Boolean).join(' · ')}>
      {t.coverUrl && <img class="thumb" src={t.coverUrl} alt={`${t.title} cover`} />}
      {t.coverUrl && <Downloads links={[['cover', t.coverUrl]]} />}
      <Reason text={t.comment} />
    </Task>
  );
}

function CloneTask({ c }: { c: ClonedVoice }) {
  const ok = describeStatus('voice', c.status).ok && c.ttsAudition;
  return (
    <Task kind="voice" status={c.status} name={names.voice(c)} meta={[c.speakerId, c.expireTime && `expires ${c.expireTime}`].filter(Boolean).join(' · ')}>
      {ok && <audio controls preload="metadata" src={c.ttsAudition} aria-label={`${names.voice(c)} sample`} />}
      <Reason text={c.reason} />
    </Task>
  );
}
