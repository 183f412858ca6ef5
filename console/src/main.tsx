import { render } from 'preact';
import { useErrorBoundary } from 'preact/hooks';
import { App } from './app';
import { errorMessage } from './format';

/** A failure while rendering shows a message and a way back, never a blank page. */
function Root() {
  const [error, reset] = useErrorBoundary();
  if (error) {
    return (
      <main class="fatal" role="alert">
        <h1>The console hit a problem</h1>
        <p>{errorMessage(error)}</p>
        <button type="button" onClick={reset}>Try again</button>
      </main>
    );
  }
  return <App />;
}

render(<Root />, document.getElementById('app')!);
