// One error type for the whole engine. Every failure that reaches a user is a
// ClawError with a stable code (see docs/ARCHITECTURE.md), a one-line cause
// and, where there is one, a fix.

export const ERROR_CODES = {
  'clw-init-fail': 'WebGPU is not available or the GPU device could not be created',
  'clw-feature-missing': 'the GPU lacks a feature or limit that a kernel needs and no fallback exists',
  'clw-model-invalid': 'the GGUF file is malformed',
  'clw-quant-unsupported': 'the model uses a tensor type the GPU path cannot run',
  'clw-arch-unsupported': 'the model architecture or its tokenizer is not implemented',
  'clw-gpu-oom': 'the model does not fit the VRAM budget even with the smallest plan',
  'clw-ctx-overflow': 'the conversation exceeded the context; older tokens were dropped',
  'clw-device-lost': 'the GPU device was lost',
  'clw-aborted': 'the request was cancelled',
  'clw-bad-request': 'an option or argument is invalid',
  'clw-tool-call-invalid': 'the model wrote a tool call that did not parse; its text was returned as content',
  'clw-template-limit': "the model's chat template passed a limit (steps, time, depth, output size or list length) and was stopped",
  'clw-remote-failed': 'the remote OpenAI-compatible server could not be reached or refused the request',
  'clw-llm-crash': 'an unexpected internal error',
} as const;

export type ClawErrorCode = keyof typeof ERROR_CODES;

export interface ClawErrorOptions {
  /** What the user can do about it. */
  fix?: string;
  /** Structured facts for tests and bug reports (field, offset, tensor, ...). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class ClawError extends Error {
  readonly code: ClawErrorCode;
  readonly fix?: string;
  readonly details: Record<string, unknown>;

  constructor(code: ClawErrorCode, message: string, options: ClawErrorOptions = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'ClawError';
    this.code = code;
    this.fix = options.fix;
    this.details = options.details ?? {};
  }

  /** `clw-code: cause` — the form the CLI prints and the UI shows. */
  override toString(): string {
    return `${this.code}: ${this.message}`;
  }

  /** A plain object that survives structured clone (worker -> page). */
  toJSON(): SerializedClawError {
    return { code: this.code, message: this.message, fix: this.fix, details: this.details };
  }

  static fromJSON(s: SerializedClawError): ClawError {
    return new ClawError(s.code, s.message, { fix: s.fix, details: s.details });
  }
}

export interface SerializedClawError {
  code: ClawErrorCode;
  message: string;
  fix?: string;
  details?: Record<string, unknown>;
}

/** A malformed GGUF file: always names the field and the byte offset. */
export function modelInvalid(field: string, offset: number, problem: string, details: Record<string, unknown> = {}): ClawError {
  return new ClawError('clw-model-invalid', `${field} at byte ${offset}: ${problem}`, {
    fix: 'The file is damaged or not a GGUF model; download it again or pick another file.',
    details: { field, offset, ...details },
  });
}

export function isClawError(e: unknown): e is ClawError {
  return e instanceof ClawError;
}

/** Wraps anything thrown into a ClawError; unknown failures become clw-llm-crash. */
export function toClawError(e: unknown): ClawError {
  if (e instanceof ClawError) return e;
  if (e instanceof DOMException && e.name === 'AbortError') return new ClawError('clw-aborted', 'the request was cancelled');
  const err = e instanceof Error ? e : new Error(String(e));
  return new ClawError('clw-llm-crash', err.message || String(e), {
    fix: 'This is a bug in WebClaw; please report it with the model file name and these details.',
    details: { name: err.name, stack: err.stack },
    cause: e,
  });
}
