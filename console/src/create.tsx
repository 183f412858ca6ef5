import type { DhpClient } from '../../src/client/index';
import { Choice, MediaField, TaskForm, mediaUrl, text, type Group } from './forms';

interface FormProps { client: DhpClient; done: (message: string) => void }

export function TtsForm({ client, done, voices }: FormProps & { voices: Group[] }) {
  return (
    <TaskForm title="Speech" action="Synthesize speech" done={done} onSubmit={async (d) => {
      const { id } = await client.tts.create({ speakerId: text(d, 'speakerId'), content: text(d, 'content') });
      return `Speech #${id} submitted.`;
    }}>
      <Choice label="Voice" name="speakerId" groups={voices} />
      <label class="field"><span>Text</span><textarea name="content" rows={4} /></label>
    </TaskForm>
  );
}

export function VideoForm({ client, done, voices, avatars }: FormProps & { voices: Group[]; avatars: Group[] }) {
  return (
    <TaskForm title="Video" action="Create video" done={done} onSubmit={async (d) => {
      const speech = d.get('speech') === 'audio'
        ? { audioUrl: await mediaUrl(client, d, 'audioUrl') }
        : { text: text(d, 'text'), speakerId: text(d, 'speakerId') };
      const { videoId } = await client.videos.create({ sceneId: Number(text(d, 'sceneId')), videoName: text(d, 'videoName') || null, ...speech });
      return `Video #${videoId} submitted.`;
    }}>
      <Choice label="Avatar" name="sceneId" groups={avatars} />
      <label class="field"><span>Name (optional)</span><input name="videoName" /></label>
      <fieldset class="speech">
        <legend>Speech</legend>
        <label class="option"><input type="radio" name="speech" value="text" defaultChecked /> Text and voice</label>
        <label class="option"><input type="radio" name="speech" value="audio" /> Recorded audio</label>
        <div class="by-text">
          <Choice label="Voice" name="speakerId" groups={voices} />
          <label class="field"><span>Text</span><textarea name="text" rows={3} /></label>
        </div>
        <div class="by-audio">
          <MediaField legend="Audio" name="audioUrl" accept="audio/*" />
        </div>
      </fieldset>
    </TaskForm>
  );
}

const consentHint = 'A recording of the person saying the consent text.';

export function CloneForm({ client, done }: FormProps) {
  return (
    <TaskForm title="Voice clone" action="Clone voice" done={done} onSubmit={async (d) => {
      const sex = text(d, 'sex');
      const voice = await client.voices.clone({
        name: text(d, 'name'),
        audioUrl: await mediaUrl(client, d, 'audioUrl'),
        authorizeUrl: await mediaUrl(client, d, 'authorizeUrl'),
        authorizeText: text(d, 'authorizeText'),
        sex: sex === '1' ? 1 : sex === '2' ? 2 : null,
      });
      return `Voice “${voice.ttsName}” submitted.`;
    }}>
      <label class="field"><span>Name</span><input name="name" /></label>
      <MediaField legend="Voice sample (WAV)" name="audioUrl" accept=".wav,audio/wav" />
      <MediaField legend="Consent recording" name="authorizeUrl" accept="audio/*,video/*" hint={consentHint} />
      <label class="field"><span>Consent text</span><textarea name="authorizeText" rows={2} /></label>
      <label class="field">
        <span>Sex</span>
        <select name="sex"><option value="">Not given</option><option value="1">Male</option><option value="2">Female</option></select>
      </label>
    </TaskForm>
  );
}

export function TrainingForm({ client, done }: FormProps) {
  return (
    <TaskForm title="Avatar training" action="Train avatar" done={done} onSubmit={async (d) => {
      const { trainingId } = await client.trainings.create({
        name: text(d, 'name'),
        videoUrl: await mediaUrl(client, d, 'videoUrl'),
        authorizeUrl: await mediaUrl(client, d, 'authorizeUrl'),
        authorizeText: text(d, 'authorizeText'),
        level: 1,
      });
      return `Avatar training #${trainingId} submitted.`;
    }}>
      <label class="field"><span>Name</span><input name="name" /></label>
      <MediaField legend="Training video" name="videoUrl" accept="video/*" />
      <MediaField legend="Consent recording" name="authorizeUrl" accept="audio/*,video/*" hint={consentHint} />
      <label class="field"><span>Consent text</span><textarea name="authorizeText" rows={2} /></label>
    </TaskForm>
  );
}
