import { JSON_UTF8, type SimResponse } from './responses';
import type { HibernationMode } from './types';

const HTML_UTF8 = 'text/html;charset=UTF-8';

export const DEVELOPER_PORTAL_URL = 'https://developer.servicenow.com/dev.do';

export const HIBERNATION_PAGE = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Instance Hibernating</title></head>
<body>
<h1>Your instance is hibernating</h1>
<p>Developer instances hibernate when idle. Wake it up from <a href="${DEVELOPER_PORTAL_URL}">developer.servicenow.com</a>.</p>
</body>
</html>
`;

export const OFFLINE_PAGE = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Instance Offline</title></head>
<body>
<h1>Your instance is currently offline</h1>
<p>It may be waking up or in maintenance. Check its status on <a href="${DEVELOPER_PORTAL_URL}">developer.servicenow.com</a>.</p>
</body>
</html>
`;

function page(status: number, html: string, headers: Record<string, string> = {}): SimResponse {
  return { status, headers: { 'Content-Type': HTML_UTF8, ...headers }, body: html, result: 'hibernating' };
}

/**
 * What a sleeping instance answers, on every path. A HEAD sees a plain 200 that looks like a healthy
 * JSON answer, so only a GET can tell.
 */
export function hibernationResponse(mode: HibernationMode, method: string): SimResponse {
  if (method === 'HEAD') {
    return {
      status: 200,
      headers: { 'Content-Type': JSON_UTF8 },
      body: '',
      result: 'hibernating',
      detail: 'head',
    };
  }
  switch (mode) {
    case 'html-200':
      return page(200, HIBERNATION_PAGE);
    case 'redirect-302':
      return page(302, `<html><body><a href="${DEVELOPER_PORTAL_URL}">Moved</a></body></html>`, {
        Location: DEVELOPER_PORTAL_URL,
      });
    case 'html-503':
      return page(503, HIBERNATION_PAGE);
    case 'offline-200':
      return page(200, OFFLINE_PAGE);
    case 'offline-503':
      return page(503, OFFLINE_PAGE);
  }
}
