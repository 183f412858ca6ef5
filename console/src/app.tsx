import { useCallback, useEffect, useState } from 'preact/hooks';
import { DhpClient } from '../../src/client/index';
import { Avatars } from './avatars';
import { CloneForm, TrainingForm, TtsForm, VideoForm } from './create';
import { text, type Group } from './forms';
import { errorMessage } from './format';
import { Quotas } from './quotas';
import { clearCredentials, defaultBaseUrl, loadCredentials, saveCredentials, type Credentials } from './session';
import { Tasks } from './tasks';
import { Voices } from './voices';
import { readyVoices, trainedAvatars, useCatalog, useWorkspace } from './workspace';

export function App() {
  const [client, setClient] = useState<{ api: DhpClient; appId: string } | null>(null);
  const [status, announce] = useState('');

  const signIn = useCallback(async (c: Credentials) => {
    const api = new DhpClient(c);
    await api.getToken();
    saveCredentials(c);
    setClient({ api, appId: c.appId });
    announce(`Signed in as ${c.appId}.`);
  }, []);
  const signOut = () => {
    clearCredentials();
    setClient(null);
    announce('Signed out.');
  };

  return (
    <>
      <header class="top">
        <h1>dhp console</h1>
        {client && (
          <>
            <nav aria-label="Sections">
              <a href="#quotas">Quotas</a> <a href="#create">Create</a> <a href="#tasks">Tasks</a> <a href="#avatars">Avatars</a> <a href="#voices">Voices</a>
            </nav>
            <p class="who">App <code>{client.appId}</code> <button type="button" onClick={signOut}>Sign out</button></p>
          </>
        )}
        <p class="status" role="status" aria-live="polite">{status}</p>
      </header>
      {client ? <Console client={client.api} announce={announce} /> : <SignIn onSignIn={signIn} />}
    </>
  );
}

function SignIn({ onSignIn }: { onSignIn: (c: Credentials) => Promise<void> }) {
  const [saved] = useState(loadCredentials);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const attempt = async (c: Credentials) => {
    setBusy(true);
    setError(null);
    try {
      await onSignIn(c);
    } catch (e) {
      setError(`Sign-in failed: ${errorMessage(e)}`);
      setBusy(false);
    }
  };
  useEffect(() => { if (saved) void attempt(saved); }, [saved]);

  const submit = (e: SubmitEvent) => {
    e.preventDefault();
    const d = new FormData(e.currentTarget as HTMLFormElement);
    void attempt({ baseUrl: text(d, 'baseUrl'), appId: text(d, 'appId'), secret: text(d, 'secret') });
  };

  return (
    <main id="main" class="sign-in">
      <h2>Sign in</h2>
      <form onSubmit={submit} aria-busy={busy}>
        <label class="field"><span>API base URL</span><input name="baseUrl" type="url" required defaultValue={saved?.baseUrl ?? defaultBaseUrl()} /></label>
        <label class="field"><span>App ID</span><input name="appId" required autocomplete="username" defaultValue={saved?.appId} /></label>
        <label class="field"><span>Secret</span><input name="secret" type="password" required autocomplete="current-password" /></label>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
      <p class="hint">
        The console talks to the server that serves it (its security policy allows no other). The app ID and secret
        stay in this tab's session storage until you sign out or close the tab.
      </p>
    </main>
  );
}

function Console({ client, announce }: { client: DhpClient; announce: (message: string) => void }) {
  const { data, error, refresh } = useWorkspace(client, announce);
  const { catalog, error: catalogError } = useCatalog(client);
  const done = useCallback((message: string) => { announce(message); void refresh(); }, [announce, refresh]);

  const voices: Group[] = [
    { label: 'Public voices', options: (catalog?.voices ?? []).map((v) => ({ value: v.speakerId, name: v.ttsName })) },
    { label: 'Your voices', options: readyVoices(data?.clones ?? []).map((c) => ({ value: c.speakerId, name: c.ttsName })) },
  ];
  const avatars: Group[] = [
    { label: 'Public avatars', options: (catalog?.avatars ?? []).map((a) => ({ value: String(a.id), name: a.sceneName })) },
    { label: 'Your avatars', options: trainedAvatars(data?.trainings ?? []).map((t) => ({ value: String(t.sceneId), name: t.title })) },
  ];

  return (
    <main id="main">
      {[error, catalogError].filter(Boolean).map((m) => <p key={m} class="error" role="alert">{m}</p>)}
      <Quotas account={data?.account} />
      <section id="create" aria-labelledby="create-title">
        <h2 id="create-title">Create</h2>
        <div class="cards">
          <TtsForm client={client} done={done} voices={voices} />
          <VideoForm client={client} done={done} voices={voices} avatars={avatars} />
          <CloneForm client={client} done={done} />
          <TrainingForm client={client} done={done} />
        </div>
      </section>
      <Tasks workspace={data} />
      <Avatars avatars={catalog?.avatars} trainings={data?.trainings} />
      <Voices voices={catalog?.voices} clones={data?.clones} />
    </main>
  );
}
