// An OpenAI-compatible HTTP server over one WebClawEngine (claw-infer serve):
//   POST /v1/chat/completions   (stream: true gives server-sent events)
//   POST /v1/completions
//   GET  /v1/models, GET /health
// Requests queue on the engine's one request queue. Every failure is a JSON
// body { error: { message, type, code: "clw-...", param, fix } } with an HTTP
// status that fits the code. A client that disconnects aborts its request.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClawError, toClawError, type ClawErrorCode } from '../errors';
import type { WebClawEngine } from '../api/engine';
import type { CompletionStream } from '../api/types';

export interface ServerOptions {
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Largest request body accepted, in bytes. Default 4 MiB. */
  maxBodyBytes?: number;
  /** An origin allowed to call the server from a browser page (CORS); none by default. */
  allowOrigin?: string;
}

export const DEFAULT_SERVER_OPTIONS = { host: '127.0.0.1', port: 8080, maxBodyBytes: 4 * 2 ** 20 } as const;

export interface RunningServer {
  /** http://host:port */
  readonly url: string;
  close(): Promise<void>;
}

const STATUS: Record<ClawErrorCode, number> = {
  'clw-bad-request': 400,
  // The model's own chat template ran past a limit: the request cannot be served as a chat.
  'clw-template-limit': 422,
  'clw-ctx-overflow': 400,
  'clw-aborted': 499,
  'clw-gpu-oom': 503,
  'clw-device-lost': 503,
  'clw-init-fail': 503,
  'clw-feature-missing': 500,
  'clw-model-invalid': 500,
  'clw-quant-unsupported': 500,
  'clw-arch-unsupported': 500,
  // The page's remote-server client only; a server never forwards to another.
  'clw-remote-failed': 502,
  'clw-llm-crash': 500,
  // Only ever a warning on a reply (its text is kept), never a failed request.
  'clw-tool-call-invalid': 500,
};

class HttpError extends ClawError {
  constructor(
    readonly status: number,
    message: string,
    fix?: string,
  ) {
    super('clw-bad-request', message, { fix });
  }
}

export function startServer(engine: WebClawEngine, options: ServerOptions = {}): Promise<RunningServer> {
  const o = {
    host: options.host ?? DEFAULT_SERVER_OPTIONS.host,
    port: options.port ?? DEFAULT_SERVER_OPTIONS.port,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_SERVER_OPTIONS.maxBodyBytes,
    allowOrigin: options.allowOrigin,
  };
  const server = createServer((req, res) => {
    if (o.allowOrigin) {
      res.setHeader('Access-Control-Allow-Origin', o.allowOrigin);
      res.setHeader('Vary', 'Origin');
    }
    handle(engine, o.maxBodyBytes, req, res).catch((e) => sendError(res, e));
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new ClawError('clw-bad-request', `cannot listen on ${o.host}:${o.port}: ${e.message}`, { fix: 'Pick another --port or --host.', cause: e })));
    server.listen(o.port, o.host, () => {
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve({ url: `http://${host}:${address.port}`, close: () => closeServer(server) });
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function handle(engine: WebClawEngine, maxBodyBytes: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
  if (req.method === 'OPTIONS') {
    res.writeHead(204, { 'Access-Control-Allow-Methods': 'GET, POST, OPTIONS', 'Access-Control-Allow-Headers': 'Content-Type, Authorization', 'Access-Control-Max-Age': '600' });
    res.end();
    return;
  }
  const route = ROUTES[path];
  if (!route) throw new HttpError(404, `no such endpoint: ${req.method} ${path || '/'}`, `Use ${Object.keys(ROUTES).join(', ')}.`);
  if (req.method !== route.method) throw new HttpError(405, `${path} takes ${route.method}, not ${req.method}`);
  if (route.method === 'GET') {
    sendJson(res, 200, path === '/health' ? { status: 'ok' } : await engine.models.list());
    return;
  }
  const body = await readJson(req, maxBodyBytes);
  // The request ends when the client goes away, queued or running.
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  const params = { ...(body as object), signal: controller.signal };
  const result =
    path === '/v1/chat/completions'
      ? await engine.chat.completions.create(params as Parameters<WebClawEngine['chat']['completions']['create']>[0])
      : await engine.completions.create(params as Parameters<WebClawEngine['completions']['create']>[0]);
  if (isStream(result)) await sendEvents(res, result);
  else sendJson(res, 200, result);
}

const ROUTES: Record<string, { method: 'GET' | 'POST' }> = {
  '/v1/chat/completions': { method: 'POST' },
  '/v1/completions': { method: 'POST' },
  '/v1/models': { method: 'GET' },
  '/health': { method: 'GET' },
};

function isStream(v: unknown): v is CompletionStream<unknown> {
  return typeof v === 'object' && v !== null && Symbol.asyncIterator in v;
}

async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  const parts: Buffer[] = [];
  let total = 0;
  for await (const part of req as AsyncIterable<Buffer>) {
    total += part.length;
    if (total > maxBytes) throw tooLarge(maxBytes);
    parts.push(part);
  }
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8'));
  } catch (e) {
    throw new HttpError(400, `the request body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`, 'Send a JSON object with Content-Type: application/json.');
  }
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, `the request body is larger than ${maxBytes} bytes`, 'Send a shorter conversation, or start the server with a larger --max-body.');
}

/** Server-sent events as OpenAI sends them: one `data:` line per chunk, then `data: [DONE]`. */
async function sendEvents(res: ServerResponse, stream: CompletionStream<unknown>): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  try {
    for await (const chunk of stream) {
      if (res.destroyed) break;
      res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    }
    res.end('data: [DONE]\n\n');
  } catch (e) {
    // Headers are gone: the error travels as an event, as OpenAI's API does.
    if (!res.destroyed) res.end(`data: ${JSON.stringify(errorBody(toClawError(e)))}\n\n`);
  }
}

function errorBody(e: ClawError) {
  const status = statusOf(e);
  return {
    error: {
      message: e.message,
      type: status < 500 ? 'invalid_request_error' : 'server_error',
      code: e.code,
      param: typeof e.details.param === 'string' ? e.details.param : null,
      fix: e.fix ?? null,
    },
  };
}

function statusOf(e: ClawError): number {
  return e instanceof HttpError ? e.status : STATUS[e.code];
}

function sendError(res: ServerResponse, e: unknown): void {
  const error = toClawError(e);
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, statusOf(error), errorBody(error));
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
