import type { ComponentChildren } from 'preact';
import { useId, useState } from 'preact/hooks';
import type { DhpClient } from '../../src/client/index';
import { errorMessage } from './format';

export const text = (data: FormData, name: string) => String(data.get(name) ?? '').trim();

/** A media field's URL: the chosen file's, uploaded first, or else the typed URL. */
export async function mediaUrl(client: DhpClient, data: FormData, name: string): Promise<string> {
  const file = data.get(`${name}File`);
  if (!(file instanceof File) || file.name === '') return text(data, name);
  try {
    return (await client.files.upload(file, file.name)).url;
  } catch (e) {
    throw new Error(`The upload of ${file.name} failed: ${errorMessage(e)}`);
  }
}

interface TaskFormProps {
  title: string;
  action: string;
  /** Sends the task; resolves with a sentence saying what was created. */
  onSubmit: (data: FormData) => Promise<string>;
  done: (message: string) => void;
  children: ComponentChildren;
}

/**
 * A form that creates a task. Inputs are named after the API's fields, so when
 * the API's message starts with a field name, that input is marked and focused.
 */
export function TaskForm({ title, action, onSubmit, done, children }: TaskFormProps) {
  const id = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);

  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    for (const el of form.querySelectorAll('[aria-invalid]')) {
      el.removeAttribute('aria-invalid');
      el.removeAttribute('aria-describedby');
    }
    setBusy(true);
    setError(null);
    setNote(null);
    try {
      const message = await onSubmit(new FormData(form));
      form.reset();
      setNote(message);
      done(message);
    } catch (err) {
      const message = errorMessage(err);
      setError(message);
      const field = form.elements.namedItem(/^\w+/.exec(message)?.[0] ?? '');
      if (field instanceof HTMLElement) {
        field.setAttribute('aria-invalid', 'true');
        field.setAttribute('aria-describedby', `${id}-error`);
        field.focus();
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{title}</h3>
      <form onSubmit={submit} noValidate aria-busy={busy}>
        {children}
        {error && <p class="error" role="alert" id={`${id}-error`}>{error}</p>}
        {note && <p class="note">{note}</p>}
        <button type="submit" disabled={busy}>{busy ? 'Sending…' : action}</button>
      </form>
    </section>
  );
}

/** A media input: a file to upload, or the URL of one (the file wins). */
export function MediaField({ legend, name, accept, hint }: { legend: string; name: string; accept: string; hint?: string }) {
  return (
    <fieldset class="media">
      <legend>{legend}</legend>
      <label class="field"><span>File</span><input type="file" name={`${name}File`} accept={accept} /></label>
      <label class="field"><span>or URL</span><input type="url" name={name} inputMode="url" placeholder="https://" /></label>
      {hint && <p class="hint">{hint}</p>}
    </fieldset>
  );
}

export interface Group { label: string; options: { value: string; name: string }[] }

/** A select of grouped options; empty groups are left out. */
export function Choice({ label, name, groups }: { label: string; name: string; groups: Group[] }) {
  return (
    <label class="field">
      <span>{label}</span>
      <select name={name}>
        {groups.filter((g) => g.options.length > 0).map((g) => (
          <optgroup key={g.label} label={g.label}>
            {g.options.map((o) => <option key={o.value} value={o.value}>{o.name}</option>)}
          </optgroup>
        ))}
      </select>
    </label>
  );
}
