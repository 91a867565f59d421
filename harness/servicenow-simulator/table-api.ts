import { createHash } from 'node:crypto';
import type { IncomingCall } from './incoming-call';
import { errorEnvelope, jsonResponse, methodNotAllowed, type SimResponse } from './responses';

const TABLE_PATH = /^\/api\/now\/table\/([^/]+)(?:\/([^/]+))?\/?$/;

/** ServiceNow's default page size when sysparm_limit is absent. */
const DEFAULT_LIMIT = 10_000;

type Row = Record<string, string>;

function sysId(seed: string): string {
  return createHash('md5').update(seed).digest('hex');
}

/** Stable rows, so a test can ask twice and compare. Values are strings, as ServiceNow sends them. */
function sysUserRows(instanceName: string, count: number): Row[] {
  return Array.from({ length: Math.max(0, count) }, (_, index) => ({
    sys_id: sysId(`${instanceName}:sys_user:${index}`),
    user_name: `sim.user${index + 1}`,
    name: `Simulated User ${index + 1}`,
    email: `sim.user${index + 1}@example.com`,
    active: 'true',
  }));
}

/** What ITSM records say every day: words a careless client mistakes for an outage page. */
const INCIDENT_TEXTS = [
  'Laptop does not wake up from hibernation',
  'Printer on floor 3 is currently offline',
  'Mail server maintenance window overran; users report an outage',
  'User pasted the page: "Your instance is hibernating" <html> and developer.servicenow.com',
];

function incidentRows(instanceName: string, count: number): Row[] {
  return Array.from({ length: Math.max(0, count) }, (_, index) => ({
    sys_id: sysId(`${instanceName}:incident:${index}`),
    number: `INC${String(10_001 + index).padStart(7, '0')}`,
    short_description: INCIDENT_TEXTS[index % INCIDENT_TEXTS.length] as string,
    state: 'In Progress',
  }));
}

function selectFields(row: Row, fields: string[] | undefined): Row {
  if (fields === undefined) return row;
  const selected: Row = {};
  for (const field of fields) {
    const value = row[field];
    if (value !== undefined) selected[field] = value;
  }
  return selected;
}

function requestedFields(url: URL): string[] | undefined {
  const raw = url.searchParams.get('sysparm_fields');
  if (raw === null || raw.trim() === '') return undefined;
  return raw
    .split(',')
    .map((field) => field.trim())
    .filter((field) => field !== '');
}

function requestedLimit(url: URL): number {
  const limit = Number.parseInt(url.searchParams.get('sysparm_limit') ?? '', 10);
  return Number.isFinite(limit) && limit >= 0 ? limit : DEFAULT_LIMIT;
}

export function isTablePath(pathname: string): boolean {
  return TABLE_PATH.test(pathname);
}

/** `GET|HEAD /api/now/table/:table[/:sys_id]`, after authentication, rate limit and ACL passed. */
/** `sys_user` has `counts.sys_user` rows; `incident` has `counts.incident`, whose text mentions outages. */
export function answerTableRequest(
  call: IncomingCall,
  instanceName: string,
  counts: { readonly sys_user: number; readonly incident: number },
): SimResponse {
  const match = TABLE_PATH.exec(call.url.pathname);
  const table = decodeURIComponent(match?.[1] ?? '');
  const recordId = match?.[2];
  if (call.method !== 'GET' && call.method !== 'HEAD') {
    return methodNotAllowed(
      `The simulator serves GET and HEAD on the Table API, not ${call.method}`,
      'GET, HEAD',
    );
  }
  if (table !== 'sys_user' && table !== 'incident') {
    return errorEnvelope(400, `Invalid table ${table}`, null, 'invalid-table');
  }

  const fields = requestedFields(call.url);
  const rows =
    table === 'incident'
      ? incidentRows(instanceName, counts.incident)
      : sysUserRows(instanceName, counts.sys_user);
  if (recordId !== undefined) {
    const row = rows.find((candidate) => candidate.sys_id === recordId);
    if (row === undefined) {
      return errorEnvelope(
        404,
        'No Record found',
        "Record doesn't exist or ACL restricts the record retrieval",
        'no-record',
      );
    }
    return jsonResponse(200, { result: selectFields(row, fields) }, 'table-ok');
  }
  const page = rows.slice(0, requestedLimit(call.url)).map((row) => selectFields(row, fields));
  return jsonResponse(200, { result: page }, 'table-ok', { 'X-Total-Count': String(rows.length) });
}
