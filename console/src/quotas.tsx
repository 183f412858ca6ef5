import type { AccountData } from '../../src/client/index';
import { count, duration } from './format';

export function Quotas({ account: a }: { account: AccountData['account'] | undefined }) {
  return (
    <section id="quotas" aria-labelledby="quotas-title">
      <h2 id="quotas-title">Quotas</h2>
      {a ? (
        <dl class="quotas">
          <Quota label="TTS words" left={a.ttsWordsAmount} total={a.totalTtsWordsAmount} format={count} />
          <Quota label="Video duration" left={a.fastDuration} total={a.totalFastDuration} format={duration} />
          <Quota label="Avatar trainings" left={a.fastTrainingAmount} total={a.totalFastTrainingAmount} format={count} />
          <Quota label="Voice clones" left={a.voiceCloneAmount} total={a.totalVoiceCloneAmount} format={count} />
        </dl>
      ) : <p>Loading…</p>}
    </section>
  );
}

function Quota({ label, left, total, format }: { label: string; left: number; total: number; format: (n: number) => string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>
        <span class="left">{format(left)}</span> left of {format(total)}
        <meter min={0} max={total} value={left} aria-hidden="true" />
      </dd>
    </div>
  );
}
