import { useEffect, useState } from 'preact/hooks';
import type { ClonedVoice, Voice } from '../../src/client/index';
import { readyVoices } from './workspace';

const sexes: Record<number, string> = { 1: 'male', 2: 'female' };

export function Voices({ voices, clones }: { voices: Voice[] | undefined; clones: ClonedVoice[] | undefined }) {
  const mine = clones && readyVoices(clones);
  return (
    <section id="voices" aria-labelledby="voices-title">
      <h2 id="voices-title">Voices</h2>
      <h3>Public</h3>
      {voices ? <VoiceList voices={voices} /> : <p>Loading…</p>}
      <h3>Yours</h3>
      {!mine ? <p>Loading…</p> : mine.length ? <VoiceList voices={mine} /> : <p>None yet: clone one with the form above.</p>}
    </section>
  );
}

function VoiceList({ voices }: { voices: (Voice | ClonedVoice)[] }) {
  return (
    <ul class="voices">
      {voices.map((v) => (
        <li key={v.speakerId}>
          <p><strong>{v.ttsName}</strong> <code>{v.speakerId}</code></p>
          <p class="meta">{[v.ttsFeatures.split('|').join(', '), v.languages.join(', '), v.sex && sexes[v.sex]].filter(Boolean).join(' · ')}</p>
          {v.ttsAudition && <PlayButton src={v.ttsAudition} name={v.ttsName} />}
        </li>
      ))}
    </ul>
  );
}

/** One sample plays at a time, through one shared element. */
const player = new Audio();
const events = ['play', 'pause', 'ended', 'emptied', 'error'];

function PlayButton({ src, name }: { src: string; name: string }) {
  const [playing, setPlaying] = useState(false);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    const url = new URL(src, document.baseURI).href;
    const sync = () => setPlaying(player.src === url && !player.paused);
    for (const e of events) player.addEventListener(e, sync);
    return () => { for (const e of events) player.removeEventListener(e, sync); };
  }, [src]);
  const toggle = () => {
    if (playing) return player.pause();
    setFailed(false);
    player.src = src;
    player.play().catch(() => setFailed(true));
  };
  return (
    <p class="play">
      <button type="button" onClick={toggle}>{playing ? 'Stop' : 'Play'}<span class="visually-hidden"> {name}</span> sample</button>
      {failed && <span class="error"> The sample could not be played.</span>}
    </p>
  );
}
