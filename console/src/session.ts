/** Sign-in details, kept in this tab's sessionStorage until sign-out. */
export interface Credentials { baseUrl: string; appId: string; secret: string }

const KEY = 'dhp-console';

export function loadCredentials(): Credentials | null {
  try {
    const c = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Partial<Credentials> | null;
    return c && typeof c.baseUrl === 'string' && typeof c.appId === 'string' && typeof c.secret === 'string' ? c as Credentials : null;
  } catch {
    return null;
  }
}

export const saveCredentials = (c: Credentials) => sessionStorage.setItem(KEY, JSON.stringify(c));
export const clearCredentials = () => sessionStorage.removeItem(KEY);

/** The API that serves this page: its URL up to /console. */
export const defaultBaseUrl = () => location.origin + location.pathname.replace(/\/console(\/.*)?$/, '');
