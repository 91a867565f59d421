const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * The origin of a ServiceNow instance, checked: https only, except plain http on loopback (the
 * local simulator). No path, query or user info: tokens are only ever sent to this origin.
 */
export function parseInstanceUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`"${raw}" is not a URL. Use the instance's address, e.g. https://acme.service-now.com`);
  }
  const loopback = LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new Error(
      `"${raw}" must use https (tokens are never sent in clear text), e.g. https://acme.service-now.com`,
    );
  }
  if (url.username || url.password) {
    throw new Error(`"${raw}" must not contain a user name or password; credentials live in Secrets Manager`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new Error(
      `"${raw}" must be the instance's address only, without a path, e.g. https://acme.service-now.com`,
    );
  }
  return new URL(url.origin);
}

export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname);
}
