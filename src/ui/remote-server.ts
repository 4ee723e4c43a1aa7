// The page's remote engine: an OpenAI-compatible server the person names
// (llama.cpp's llama-server, vLLM, `claw-infer serve` on a bigger machine)
// answers instead of the local GPU, through the same streamed chat API the
// local engine speaks (reply-stream.ts). Opt-in: nothing is sent anywhere
// until a URL is saved, and then only to that origin, which the page's
// Content Security Policy allows alone (csp.ts). The URL and the optional API
// key stay in this browser's localStorage.

import { ClawError, toClawError } from '../errors';
import type { ChatCompletionChunk, ChatCompletionCreateParams, Completion, CompletionCreateParams } from '../api/types';
import type { ChatBackend } from './reply-stream';

const STORAGE_KEY = 'webclaw-remote';

export interface RemoteSettings {
  /** The server's base URL as typed, e.g. http://127.0.0.1:8080 or https://host/v1. */
  url: string;
  /** Sent as `Authorization: Bearer KEY` when set. */
  apiKey?: string;
}

/** The saved remote server, if any (a malformed entry counts as none). */
export function savedRemote(): RemoteSettings | undefined {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null');
    if (typeof value !== 'object' || value === null || typeof (value as RemoteSettings).url !== 'string') return undefined;
    const { url, apiKey } = value as RemoteSettings;
    return { url, ...(typeof apiKey === 'string' && apiKey ? { apiKey } : {}) };
  } catch {
    return undefined;
  }
}

/** Saves (or, with undefined, forgets) the remote server. Checked first: a bad URL is a clw-bad-request naming it. */
export function saveRemote(settings: RemoteSettings | undefined): void {
  if (settings) apiBase(settings.url);
  try {
    if (settings) localStorage.setItem(STORAGE_KEY, JSON.stringify(settings));
    else localStorage.removeItem(STORAGE_KEY);
  } catch (e) {
    throw new ClawError('clw-bad-request', 'the browser refused to store the remote server setting', { fix: 'Allow this site to store data (a private window may refuse).', cause: e });
  }
}

/** The API root (…/v1) of a server URL as a person types it; http(s) only. */
export function apiBase(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    throw badUrl(url);
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.username || parsed.password) throw badUrl(url);
  const path = parsed.pathname.replace(/\/+$/, '');
  parsed.pathname = path.endsWith('/v1') ? path : `${path}/v1`;
  parsed.search = '';
  parsed.hash = '';
  return parsed;
}

function badUrl(url: string): ClawError {
  return new ClawError('clw-bad-request', `"${url}" is not a server URL`, {
    fix: 'Type the server address with http:// or https://, such as http://127.0.0.1:8080 (llama-server) or http://127.0.0.1:8000/v1.',
    details: { param: 'remote-url', value: url },
  });
}

/** A connected remote server: the chat API over fetch and server-sent events. */
export interface RemoteEngine extends ChatBackend {
  readonly origin: string;
  /** The first model the server lists (what it answers with). */
  readonly modelId: string;
}

/** Asks the server for its models (this checks it is there) and returns the client. */
export async function connectRemote(settings: RemoteSettings, signal?: AbortSignal): Promise<RemoteEngine> {
  const base = apiBase(settings.url);
  const call = (path: string, init: RequestInit) => request(base, path, settings.apiKey, init);
  const listing = await (await call('models', { method: 'GET', signal })).json().catch(() => undefined);
  const first = Array.isArray(listing?.data) ? listing.data.find((m: unknown) => typeof (m as { id?: unknown })?.id === 'string') : undefined;
  const modelId: string = first?.id ?? 'model';
  const stream = async <Chunk>(path: string, params: { signal?: AbortSignal; model?: string }): Promise<AsyncIterable<Chunk>> => {
    const { signal: requestSignal, ...body } = params;
    const response = await call(path, { method: 'POST', body: JSON.stringify({ model: modelId, ...body }), signal: requestSignal, headers: { 'content-type': 'application/json' } });
    return serverSentEvents<Chunk>(response, base.origin);
  };
  return {
    origin: base.origin,
    modelId,
    chat: { completions: { create: (params: ChatCompletionCreateParams & { stream: true }) => stream<ChatCompletionChunk>('chat/completions', params) } },
    completions: { create: (params: CompletionCreateParams & { stream: true }) => stream<Completion>('completions', params) },
  };
}

/** One request; any failure to reach the server or a non-2xx answer is a clw-remote-failed naming the server and what it said. */
async function request(base: URL, path: string, apiKey: string | undefined, init: RequestInit): Promise<Response> {
  const url = new URL(path, `${base.href}/`);
  const headers = new Headers(init.headers);
  if (apiKey) headers.set('authorization', `Bearer ${apiKey}`);
  let response: Response;
  try {
    response = await fetch(url, { ...init, headers, credentials: 'omit', referrerPolicy: 'no-referrer' });
  } catch (e) {
    if (init.signal?.aborted) throw toClawError(init.signal.reason ?? e);
    throw new ClawError('clw-remote-failed', `could not reach the remote server at ${base.origin} (${e instanceof Error ? e.message : String(e)})`, {
      fix: `Check that the server is running at ${base.href}, that the URL is right, and that it allows requests from ${globalThis.location?.origin ?? "this page"} (CORS: llama-server allows any origin by default; claw-infer serve needs --allow-origin with this page's origin, vLLM --allowed-origins).`,
      details: { url: url.href },
    });
  }
  if (!response.ok) {
    const body = await response.text().catch(() => '');
    const said = serverMessage(body) ?? `HTTP ${response.status} ${response.statusText}`.trim();
    throw new ClawError('clw-remote-failed', `the remote server at ${base.origin} refused the request: ${said}`, {
      fix: response.status === 401 || response.status === 403 ? 'Check the API key in the remote server setting.' : 'Check the server and its model; its own log says more.',
      details: { url: url.href, status: response.status },
    });
  }
  return response;
}

/** The message of an OpenAI-style error body ({ error: { message } }), if it is one. */
function serverMessage(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown; code?: unknown } | string };
    const error = parsed.error;
    if (typeof error === 'string') return error.slice(0, 500);
    if (typeof error?.message === 'string') return `${typeof error.code === 'string' ? `${error.code}: ` : ''}${error.message}`.slice(0, 500);
  } catch {
    // Not JSON: the status line says it.
  }
  return body ? body.slice(0, 200) : undefined;
}

/** The `data:` events of a text/event-stream response as parsed JSON, up to `[DONE]`. */
async function* serverSentEvents<T>(response: Response, origin: string): AsyncGenerator<T> {
  if (!response.body) throw new ClawError('clw-remote-failed', `the remote server at ${origin} sent no body`, { fix: 'Check that the server supports streamed chat completions (stream: true).' });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
        const data = event
          .split(/\r?\n/)
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).replace(/^ /, ''))
          .join('\n');
        if (!data) continue;
        if (data === '[DONE]') return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(data);
        } catch {
          throw new ClawError('clw-remote-failed', `the remote server at ${origin} sent an event that is not JSON: ${data.slice(0, 80)}`, { fix: 'Check that the URL points at an OpenAI-compatible API.' });
        }
        const error = (parsed as { error?: { message?: unknown } }).error;
        if (error) throw new ClawError('clw-remote-failed', `the remote server at ${origin} failed mid-reply: ${String(error.message ?? JSON.stringify(error)).slice(0, 500)}`, { fix: 'Its own log says more.' });
        yield parsed as T;
      }
    }
  } finally {
    // Stopping the loop (the stop button, an error) cancels the download too.
    void reader.cancel().catch(() => undefined);
  }
}
