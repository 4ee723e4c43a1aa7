// claw-infer serve: loads one model and serves the OpenAI API over HTTP on
// loopback (src/server/server.ts) until SIGINT or SIGTERM.

import { ClawError } from '../errors';
import { createEngine } from '../api/create-engine-node';
import type { EngineOptions } from '../engine/engine';
import type { LoadOptions } from '../engine/types';
import { matvecSearchLine } from './engine-flags';
import { DEFAULT_SERVER_OPTIONS, startServer } from '../server/server';

export async function serve(flags: Map<string, string | number | boolean>, loadOptions: LoadOptions, engineOptions: EngineOptions, usage: string): Promise<number> {
  const model = flags.get('model') as string | undefined;
  if (!model) throw new ClawError('clw-bad-request', 'serve needs --model FILE', { fix: usage });
  const port = (flags.get('port') as number | undefined) ?? DEFAULT_SERVER_OPTIONS.port;
  if (port < 0 || port > 65535) throw new ClawError('clw-bad-request', `--port expects 0..65535, got ${port}`);
  const maxBodyBytes = flags.get('max-body') as number | undefined;
  if (maxBodyBytes !== undefined && maxBodyBytes < 1) throw new ClawError('clw-bad-request', `--max-body expects a positive number of bytes, got ${maxBodyBytes}`);

  const engine = await createEngine({ model, ...loadOptions, ...engineOptions });
  try {
    if (engine.info.plan) process.stderr.write(`memory plan: ${engine.info.plan}\n`);
    process.stderr.write(matvecSearchLine(engine.info));
    const server = await startServer(engine, {
      host: flags.get('host') as string | undefined,
      port,
      maxBodyBytes,
      allowOrigin: flags.get('allow-origin') as string | undefined,
    });
    process.stderr.write(`serving ${engine.modelId} on ${server.url}/v1 (OpenAI API; Ctrl-C stops)\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    return 0;
  } finally {
    await engine.unload();
  }
}
