import type { Avatar, Training } from '../../src/client/index';
import { trainedAvatars } from './workspace';

interface Item { id: number; name: string; cover: string | null; detail: string }

export function Avatars({ avatars, trainings }: { avatars: Avatar[] | undefined; trainings: Training[] | undefined }) {
  const mine = trainings && trainedAvatars(trainings);
  return (
    <section id="avatars" aria-labelledby="avatars-title">
      <h2 id="avatars-title">Avatars</h2>
      <h3>Public</h3>
      {avatars ? <Gallery items={avatars.map((a) => ({ id: a.id, name: a.sceneName, cover: a.coverUrl, detail: a.resolution }))} /> : <p>Loading…</p>}
      <h3>Yours</h3>
      {!mine ? <p>Loading…</p> : mine.length ? <Gallery items={mine.map((t) => ({ id: t.sceneId, name: t.title, cover: t.coverUrl, detail: t.resolution ?? 'Trained' }))} />
        : <p>None yet: train one with the form above.</p>}
    </section>
  );
}

function Gallery({ items }: { items: Item[] }) {
  return (
    <ul class="gallery">
      {items.map((a) => (
        <li key={a.id}>
          <figure>
            {a.cover && <img src={a.cover} alt="" loading="lazy" />}
            <figcaption><strong>{a.name}</strong> <span class="meta">{a.detail}</span> <span class="meta">Scene ID {a.id}</span></figcaption>
          </figure>
        </li>
      ))}
    </ul>
  );
}
