import type { ServerResponse } from 'node:http';
import type { RealTimeWaits } from './real-time-waits';
import type { SimResponse } from './responses';

/** How a decided answer travels: normally, late, in slow chunks, or cut short. */
export type Delivery =
  | { kind: 'normal' }
  | { kind: 'latency'; ms: number }
  | { kind: 'slow-body'; chunkDelayMs: number; chunkBytes: number }
  | { kind: 'truncated-body' };

/** Content-Length a truncated answer promises when the real body is empty. */
const PROMISED_BYTES_FOR_EMPTY_BODY = 16;

function bodyBytes(response: SimResponse): Buffer {
  return typeof response.body === 'string' ? Buffer.from(response.body, 'utf8') : response.body;
}

function writeWhole(res: ServerResponse, response: SimResponse, body: Buffer, head: boolean): void {
  res.writeHead(response.status, { ...response.headers, 'Content-Length': String(body.length) });
  res.end(head ? undefined : body);
}

export async function deliver(
  res: ServerResponse,
  response: SimResponse,
  delivery: Delivery,
  head: boolean,
  waits: RealTimeWaits,
): Promise<void> {
  const body = bodyBytes(response);
  switch (delivery.kind) {
    case 'normal':
      writeWhole(res, response, body, head);
      return;
    case 'latency':
      if (!(await waits.wait(delivery.ms)) || res.destroyed) return;
      writeWhole(res, response, body, head);
      return;
    case 'slow-body': {
      res.writeHead(response.status, { ...response.headers, 'Content-Length': String(body.length) });
      res.flushHeaders();
      if (head) {
        res.end();
        return;
      }
      for (let offset = 0; offset < body.length; offset += delivery.chunkBytes) {
        if (offset > 0 && !(await waits.wait(delivery.chunkDelayMs))) return;
        if (res.destroyed) return;
        res.write(body.subarray(offset, offset + delivery.chunkBytes));
      }
      res.end();
      return;
    }
    case 'truncated-body': {
      const promised = body.length > 0 ? body.length : PROMISED_BYTES_FOR_EMPTY_BODY;
      res.writeHead(response.status, { ...response.headers, 'Content-Length': String(promised) });
      const half = body.subarray(0, Math.floor(body.length / 2));
      if (half.length > 0) res.write(half);
      else res.flushHeaders();
      // end() on the socket flushes what was written, then closes: the client sees a short body.
      res.socket?.end();
      return;
    }
  }
}
