// Where the secret lives: in this module's memory, and — only when the user ticks "keep me signed in
// while this tab is open" — in this tab's sessionStorage, which dies with the tab and is never shared
// with other tabs. Never in the URL (history, logs, Referer), never in localStorage (outlives the
// session), never in a cookie (sent by the browser on its own, which would need CSRF protection):
// the console sends it itself, as `Authorization: Bearer`, to this origin only.

export type Me =
  | { kind: "admin" }
  | {
      kind: "user";
      userId: string;
      keyId: string;
      scopes: string[];
      limits: { requestsPerMinute?: number; tokensPerMinute?: number; budget?: string };
    };

const KEY = "aggregator-console-token";
let token: string | null = null;
let me: Me | null = null;

export function storedToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null; // storage disabled
  }
}

export function signIn(secret: string, who: Me, remember: boolean): void {
  token = secret;
  me = who;
  try {
    if (remember) sessionStorage.setItem(KEY, secret);
    else sessionStorage.removeItem(KEY);
  } catch {
    /* storage disabled: memory only */
  }
}

export function signOut(): void {
  token = null;
  me = null;
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    /* nothing stored */
  }
}

export const currentToken = () => token;
export const currentUser = () => me;
export const isAdmin = () => me?.kind === "admin";
/** the API key's own user; undefined for the admin token */
export const ownUserId = () => (me?.kind === "user" ? me.userId : undefined);
export const hasScope = (scope: string) => me?.kind === "admin" || (me?.kind === "user" && me.scopes.includes(scope));
