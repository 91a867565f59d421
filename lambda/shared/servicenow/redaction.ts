/**
 * Scrubbing of text taken from a ServiceNow (or proxy) answer before it reaches an outcome, and so
 * a detail, the state table, a log, an email or a function response. Gateways and error pages quote
 * the request back, secrets included (docs/servicenow-behaviour.md, "What may stand between us").
 */

/** What a removed secret or a masked token becomes: no letter or digit of it survives. */
export const REDACTED = '[…]';

/** The request parameters whose values are secrets wherever they appear. */
export const SECRET_PARAMETERS = ['client_secret', 'refresh_token', 'password', 'assertion', 'access_token'];

/** Shorter values would match ordinary words: text that holds one is dropped whole instead. */
const MIN_SECRET_LENGTH = 6;

/** Long runs of token characters; masked when they mix letters and digits, as tokens and keys do. */
const TOKEN_LIKE = /[A-Za-z0-9_~+/=-]{20,}/g;

function htmlEscaped(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** The forms a secret takes when an answer quotes it: as sent (form-encoded), decoded, escaped. */
function forms(secret: string): string[] {
  const variants = new Set([
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
    htmlEscaped(secret),
  ]);
  return [...variants].filter((v) => v.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

/**
 * `text` with every form of each of the request's `secrets` removed and every long token-like
 * string masked. Apply before cutting text short, so no half of a secret survives a cut.
 */
export function redact(text: string, secrets: readonly string[]): string {
  // A value too short to search for safely: if it appears at all, none of the text is kept.
  if (
    secrets.some((secret) => secret.length > 0 && secret.length < MIN_SECRET_LENGTH && text.includes(secret))
  ) {
    return REDACTED;
  }
  let scrubbed = text;
  for (const secret of secrets) {
    for (const form of forms(secret)) scrubbed = scrubbed.split(form).join(REDACTED);
  }
  return scrubbed.replace(TOKEN_LIKE, (run) => (/[A-Za-z]/.test(run) && /\d/.test(run) ? REDACTED : run));
}

/** The secret values of a request: its form body's secret parameters and its bearer token. */
export function requestSecrets(options: {
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}): string[] {
  const secrets: string[] = [];
  const authorization = Object.entries(options.headers).find(
    ([name]) => name.toLowerCase() === 'authorization',
  );
  const bearer = authorization && /^Bearer\s+(\S+)/i.exec(authorization[1])?.[1];
  if (bearer) secrets.push(bearer);
  if (options.body !== undefined && !/^\s*[[{]/.test(options.body)) {
    const form = new URLSearchParams(options.body);
    for (const name of SECRET_PARAMETERS) {
      const value = form.get(name);
      if (value) secrets.push(value);
    }
  }
  return secrets;
}
