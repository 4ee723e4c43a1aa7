// One generation request on a loaded model: the prompt's tokens (raw text
// or chat messages through the model's template), the prefill, and the
// token loop with sampling, stop strings and context shifts.

import { ClawError } from '../errors';
import { evalReusingCache, shiftContext } from './context';
import type { Session } from './session';
import { createSampler } from './sampler';
import { StopMatcher } from './stop';
import { DEFAULT_GENERATION } from './defaults';
import { tokenLogprobs } from './logprobs';
import type { TokenPipeline } from '../model/token-pipeline';
import { forcedGrammar, forcedOpening } from '../tools/forced';
import { ToolCallReader, type ReadReply } from '../tools/reader';
import { offeredTools } from '../tools/validate';
import { compileResponseFormat, grammarVocab, type GrammarMatcher } from '../structured';
import type { ChatMessage, GenerateEvent, GenerateOptions, ResponseFormat } from './types';

export type Emit = (e: GenerateEvent) => Promise<void>;


export interface GenerationHooks {
  /** Called before each context shift (the engine counts them). */
  onContextShift(): void;
}

export function promptTokens(s: Session, input: string | ChatMessage[], options: GenerateOptions): number[] {
  if (typeof input === 'string') {
    return s.tokenizer.encode(input, { addSpecial: options.addBos ?? true });
  }
  const tk = s.tokenizer;
  const tools = offeredTools(options.tools, options.toolChoice);
  const text = s.chat.render(input, {
    bosToken: tk.bosId !== null ? tk.tokenText(tk.bosId) : '',
    eosToken: tk.eosId !== null ? tk.tokenText(tk.eosId) : '',
    tools,
  }) + (tools ? forcedOpening(s.chat.toolSyntax, options.toolChoice) : '');
  // Templates write BOS themselves where the model wants it; avoid a double BOS.
  const ids = tk.encode(text, { addSpecial: true, parseSpecial: true });
  if (ids.length >= 2 && tk.bosId !== null && ids[0] === tk.bosId && ids[1] === tk.bosId) ids.shift();
  return ids;
}

/** `options.signal` aborts when the caller cancels or goes away (see queue.ts). */
export async function runGeneration(s: Session, input: string | ChatMessage[], options: GenerateOptions, emit: Emit, hooks: GenerationHooks): Promise<void> {
  const signal = options.signal;
  const maxTokens = options.maxTokens ?? DEFAULT_GENERATION.maxTokens;
  if (typeof input === 'string' && options.tools?.length) throw new ClawError('clw-bad-request', 'tools need chat messages, not a raw prompt', { fix: 'Send the prompt as a user message.' });
  let tokens = promptTokens(s, input, options);
  if (tokens.length === 0) throw new ClawError('clw-bad-request', 'the prompt is empty', { fix: 'Type a prompt.' });
  for (const id of tokens) {
    if (id < 0 || id >= s.hp.nVocab) throw new ClawError('clw-model-invalid', `token id ${id} is outside the vocabulary of ${s.hp.nVocab}`);
  }
  const nKeep = s.tokenizer.addBos && tokens[0] === s.tokenizer.bosId ? 1 : 0;
  // Grow the KV cache for the prompt up front: if memory stops it short, the context is what it holds.
  await s.model.reserve(Math.min(tokens.length, s.ctxSize));
  // A prompt longer than the context keeps its start (BOS) and its end.
  const room = Math.max(1, s.ctxSize - Math.min(maxTokens, Math.floor(s.ctxSize / 4)));
  if (tokens.length > room) {
    const dropped = tokens.length - room;
    tokens = [...tokens.slice(0, nKeep), ...tokens.slice(nKeep + dropped)];
    await emit({ type: 'warning', code: 'clw-ctx-overflow', message: `the prompt has ${tokens.length + dropped} tokens but the context holds ${s.ctxSize}: dropped ${dropped} tokens after the start` });
  }
  if (typeof input !== 'string' && s.chat.problem) await emit({ type: 'warning', code: 'clw-model-invalid', message: s.chat.problem });
  await emit({ type: 'prompt', tokenIds: tokens.slice() });

  const toolGrammar = typeof input === 'string' ? null : await forcedCallGrammar(s, options, emit);
  const format: ResponseFormat | undefined = toolGrammar ? { type: 'grammar', grammar: toolGrammar } : options.responseFormat;
  const grammar = format ? compileResponseFormat(format, grammarVocab(s.tokenizer, s.hp.nVocab)) : null;
  const t0 = performance.now();
  const { logits, reused: reuse } = await evalReusingCache(s, tokens, signal);
  const t1 = performance.now();

  const out = new TokenSink(s, options, tokens, emit);
  // The one decision point: logprobs need the logits on the CPU; everything else (grammars too, through a
  // token bitmask applied on the GPU) samples on the GPU where the model has a decode pass.
  const pipe = options.logprobs === undefined ? await s.model.tokenPipeline() : null;
  const reason = pipe ? await decodeOnGpu(s, pipe, options, out, nKeep, emit, hooks, grammar) : await decodeOnCpu(s, options, out, logits, nKeep, emit, hooks, grammar);
  const { stops, decoder, nGenerated, firstTokenAt } = out;
  let tail = reason === 'stop' ? '' : stops.flush() + decoder.flush();
  // With tools: the held call text is parsed now; what is not a call is shown as text.
  let reply: ReadReply | null = null;
  if (out.tools && reason !== 'abort') {
    tail = out.tools.push(tail);
    reply = out.tools.finish();
    tail += reply.content;
  }
  if (tail) await emit({ type: 'token', tokenId: -1, text: tail });
  if (reply?.problem) await emit({ type: 'warning', code: 'clw-tool-call-invalid', message: `the reply looked like a tool call but did not parse (${reply.problem}); it is returned as text` });
  if (reply && reply.calls.length > 0) await emit({ type: 'tool_calls', calls: reply.calls });
  const t2 = performance.now();
  const nPrompt = tokens.length - reuse;
  await emit({
    type: 'done',
    reason,
    stats: {
      nPrompt: tokens.length,
      nCached: reuse,
      nGenerated,
      prefillMs: t1 - t0,
      firstTokenMs: firstTokenAt > 0 ? firstTokenAt - t0 : 0,
      decodeMs: t2 - t1,
      prefillTokPerS: nPrompt > 0 ? (nPrompt * 1000) / Math.max(1e-3, t1 - t0) : 0,
      decodeTokPerS: nGenerated > 1 ? ((nGenerated - 1) * 1000) / Math.max(1e-3, t2 - t1) : 0,
    },
  });
}

type StopReason = 'stop' | 'length' | 'abort';

/** What happens to each generated token, whichever loop drew it: stop strings, text, the event, the history. */
class TokenSink {
  readonly history: number[];
  readonly decoder: ReturnType<Session['tokenizer']['createDecoder']>;
  readonly stops: StopMatcher;
  /** Reads the reply for tool calls when tools are offered (their text is held, not streamed). */
  readonly tools: ToolCallReader | null;
  nGenerated = 0;
  /** When the first token was emitted (performance.now()), 0 before. */
  firstTokenAt = 0;

  constructor(
    private readonly s: Session,
    private readonly options: GenerateOptions,
    prompt: readonly number[],
    private readonly emit: Emit,
  ) {
    this.history = prompt.slice();
    this.decoder = s.tokenizer.createDecoder();
    // An end-of-generation token spelled out as text ends the reply as the token itself would.
    this.stops = new StopMatcher([...(options.stop ?? []), ...s.tokenizer.eogTexts]);
    this.tools = null;
    if (offeredTools(options.tools, options.toolChoice)) {
      this.tools = new ToolCallReader(s.tokenizer, s.chat.toolSyntax);
      // A forced call's opening is in the prompt: the reply goes on from inside it.
      this.tools.push(forcedOpening(s.chat.toolSyntax, options.toolChoice));
    }
  }

  /** Takes a drawn id; the reason generation ends with it, or null to go on. */
  async accept(id: number, logits?: Float32Array): Promise<StopReason | null> {
    if (this.s.tokenizer.eogIds.has(id)) return 'stop';
    this.history.push(id);
    this.nGenerated++;
    if (this.nGenerated === 1) this.firstTokenAt = performance.now();
    const piece = this.tools?.markerText(id) ?? this.decoder.push(id);
    const { emit: safe, stopped } = this.stops.push(piece);
    const text = this.tools ? this.tools.push(safe) : safe;
    const logprobs = logits && this.options.logprobs !== undefined ? tokenLogprobs(logits, id, this.options.logprobs) : undefined;
    await this.emit(logprobs ? { type: 'token', tokenId: id, text, logprobs } : { type: 'token', tokenId: id, text });
    if (stopped) return 'stop';
    return this.nGenerated >= (this.options.maxTokens ?? DEFAULT_GENERATION.maxTokens) ? 'length' : null;
  }
}

/** Makes room for position `pos` in the KV cache; shifts the context when it is full (or memory allows no more). */
async function roomFor(s: Session, pos: number, nKeep: number, emit: Emit, hooks: GenerationHooks): Promise<boolean> {
  if (pos < s.ctxSize && (await s.model.reserve(pos + 1))) return true;
  hooks.onContextShift();
  await shiftContext(s, nKeep, emit);
  return false;
}

/**
 * Sampling on the CPU from logits read back every token (logprobs, grammars,
 * or models without a decode pass). A grammar masks a copy of the logits
 * (logprobs stay those of the model) and follows each drawn token.
 */
async function decodeOnCpu(s: Session, options: GenerateOptions, out: TokenSink, first: Float32Array, nKeep: number, emit: Emit, hooks: GenerationHooks, grammar: GrammarMatcher | null): Promise<StopReason> {
  const sampler = createSampler(options);
  const masked = new Float32Array(grammar ? first.length : 0);
  let logits = first;
  for (;;) {
    if (options.signal?.aborted) return 'abort';
    if (grammar) {
      masked.set(logits);
      if (!grammar.applyMask(masked)) throw noTokenAllowed();
    }
    const id = sampler.sample(grammar ? masked : logits, out.history);
    const end = await out.accept(id, logits);
    if (end) {
      if (grammar && end === 'stop' && s.tokenizer.eogIds.has(id)) await flushHeld(out, emit);
      return end;
    }
    if (grammar) {
      grammar.accept(id);
      // Nothing but the end may follow: stop here rather than evaluate a token only to draw end-of-generation.
      if (grammar.mustEnd) {
        await flushHeld(out, emit);
        return 'stop';
      }
    }
    await roomFor(s, s.cached.length, nKeep, emit, hooks);
    logits = await s.model.eval([id], s.cached.length);
    s.cached.push(id);
  }
}

function noTokenAllowed(): ClawError {
  return new ClawError('clw-bad-request', 'the grammar allows no token of this vocabulary here', { fix: 'Check that the grammar can be written with the characters the model produces.' });
}

/** The grammar's token bitmask for the next draw, to the GPU sampler (nVocab / 8 bytes). */
function maskNext(pipe: TokenPipeline, grammar: GrammarMatcher): void {
  const mask = grammar.mask();
  if (!mask.some((w) => w !== 0)) throw noTokenAllowed();
  pipe.mask(mask);
}

/** A grammar's output is complete when it ends: text held back as the possible start of a stop string is part of it. */
async function flushHeld(out: TokenSink, emit: Emit): Promise<void> {
  const tail = out.stops.flush() + out.decoder.flush();
  if (tail) await emit({ type: 'token', tokenId: -1, text: tail });
}

/**
 * Draws submitted ahead of the one being read: token t + 1 is on the GPU
 * before t's id is on the CPU. At a stop one step has run past what is kept,
 * which is as far as a recurrent state can go back (KvCache.rewindState):
 * deeper, such a model would restart its next prompt from position 0.
 */
const PIPELINE_DEPTH = 2;

/**
 * Sampling on the GPU, pipelined: the sampled id stays on the GPU and feeds
 * the next step; ids come back a draw or two behind for streaming and stop
 * checks, and what was drawn past a stop is dropped (its KV rows lie past
 * what the cache is said to hold, and are overwritten later; a recurrent
 * state, lfm2's or qwen35's, is taken back the one step it ran ahead). One
 * set of error scopes for the whole request. With a grammar the next mask
 * depends on the token just drawn: one draw in flight, and before each
 * submit the grammar's bitmask is written for the sampler to apply to the
 * logits. Where gemma4's per-layer table stays in the file, a token's rows
 * are read once its id is on the CPU: one draw in flight there too, so a
 * step only ever evaluates a draw already read and accepted.
 */
async function decodeOnGpu(s: Session, pipe: TokenPipeline, options: GenerateOptions, out: TokenSink, nKeep: number, emit: Emit, hooks: GenerationHooks, grammar: GrammarMatcher | null): Promise<StopReason> {
  const maxTokens = options.maxTokens ?? DEFAULT_GENERATION.maxTokens;
  const depth = grammar || !s.model.runsAhead ? 1 : PIPELINE_DEPTH;
  return s.model.withGpuErrors('generation', async () => {
    await pipe.begin(options, out.history, grammar !== null);
    if (grammar) maskNext(pipe, grammar);
    pipe.sampleFromLogits();
    let drawn = 1;
    /** Position where the next step evaluates the latest draw. */
    let pos = s.cached.length;
    /** The last draw read back; steps submitted (step k evaluates draw k - 1 and draws k); draws read back. */
    let latest = -1;
    let evaluated = 0;
    let read = 0;
    try {
      for (;;) {
        // Keep the GPU ahead, while the cache has room without a shift.
        while (pipe.inFlight < depth && drawn < maxTokens && pos < s.ctxSize && pos + 1 <= s.model.kv.capacity) {
          // This step writes the KV rows of draw `evaluated`: cached now if it was read already.
          if (evaluated < read) s.cached.push(latest);
          if (grammar) maskNext(pipe, grammar);
          // One draw in flight (!runsAhead): this step evaluates `latest`, read already.
          if (!s.model.runsAhead) await s.model.beforeStep(latest);
          pipe.step(pos++);
          drawn++;
          evaluated++;
        }
        if (pipe.inFlight === 0) {
          if (drawn >= maxTokens) return 'length';
          // The cache needs to grow or the context to shift: everything drawn is read and cached.
          if (!(await roomFor(s, pos, nKeep, emit, hooks))) {
            pos = s.cached.length;
            pipe.setLatest(latest);
          }
          continue;
        }
        if (options.signal?.aborted) return 'abort';
        const id = await pipe.next();
        read++;
        const end = await out.accept(id);
        if (end) {
          if (grammar && end === 'stop' && s.tokenizer.eogIds.has(id)) await flushHeld(out, emit);
          return end;
        }
        latest = id;
        // Draw `read - 1` is cached once the step evaluating it was submitted (now, or when it is).
        if (evaluated >= read) s.cached.push(id);
        if (grammar) {
          grammar.accept(id);
          // As on the CPU route: nothing but the end may follow.
          if (grammar.mustEnd) {
            await flushHeld(out, emit);
            return 'stop';
          }
        }
      }
    } finally {
      await pipe.drain();
      // The step evaluating a draw past the stop ran; what is kept is what is cached.
      s.model.rewindState(s.cached.length);
    }
  });
}

/**
 * A named function's call is constrained by its parameters' schema (tools/forced.ts);
 * a schema the grammar engine cannot express leaves the arguments free, with a warning.
 */
async function forcedCallGrammar(s: Session, options: GenerateOptions, emit: Emit): Promise<string | null> {
  if (!offeredTools(options.tools, options.toolChoice)) return null;
  try {
    return forcedGrammar(s.chat.toolSyntax, options.toolChoice, options.tools ?? []);
  } catch (e) {
    if (!(e instanceof ClawError) || e.code !== 'clw-bad-request') throw e;
    await emit({ type: 'warning', code: 'clw-bad-request', message: `the called function's arguments are not constrained: ${e.message}` });
    return null;
  }
}
