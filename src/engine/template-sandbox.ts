// A GGUF's chat template is code from a stranger: it runs here under
// limits. Every evaluation step is counted (a step budget, and a clock
// checked every few thousand steps), nesting is bounded (macro recursion
// included), and no value the template makes may be longer than the output
// limit, nor any list longer than the item limit; `range()` checks its
// length before it builds anything. Past a limit: clw-template-limit, naming
// the limit. The renderer is @huggingface/jinja's interpreter; only its
// globals are ours (so that `range` is bounded).

import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { ClawError } from '../errors';

export interface TemplateLimits {
  /** Evaluation steps (one per expression or statement evaluated). */
  maxSteps: number;
  /** Wall-clock time for one render, in milliseconds. */
  maxMs: number;
  /** Nesting of evaluations: expressions in expressions, blocks in blocks, macro calls in macro calls. */
  maxDepth: number;
  /** Characters in any string the template makes, the output included. */
  maxChars: number;
  /** Items in any list the template makes, `range()` included. */
  maxItems: number;
}

/**
 * Generous for real templates: the ones in tests/unit/template-limits.test.ts
 * (every template in the tokenizer packages and carried by the test models)
 * render a 200-turn conversation, or a 1 MB message, far inside them.
 */
export const TEMPLATE_LIMITS: Readonly<TemplateLimits> = {
  maxSteps: 250_000,
  maxMs: 5_000,
  maxDepth: 256,
  maxChars: 16 * 2 ** 20,
  maxItems: 100_000,
};

/** How often (in steps) the clock is read: one step can cost up to a list of maxItems. */
const CLOCK_EVERY = 16;

export type TemplateLimitName = 'steps' | 'time' | 'depth' | 'output size' | 'list length';

function limitError(limit: TemplateLimitName, max: number, unit: string): ClawError {
  return new ClawError('clw-template-limit', `the chat template passed its ${limit} limit (${max.toLocaleString('en-US')} ${unit}); it was stopped`, {
    fix: "Send a raw prompt instead of chat messages (CLI: leave out --chat and --system), or use a model whose chat template behaves.",
    details: { limit, max },
  });
}

export type Program = Template['parsed'];
type Statement = Parameters<Interpreter['evaluate']>[0];
type RuntimeValue = ReturnType<Interpreter['evaluate']>;
/** An AST node as the interpreter reads it: a type tag and fields. */
type Node = { type: string; [field: string]: unknown };

/**
 * A node standing for a value already evaluated: the checked filters and
 * calls evaluate their operands once, measure what the operation would
 * make, and hand the library the same values in these.
 */
const EVALUATED = 'ClawEvaluated';
const evaluated = (value: RuntimeValue): Node => ({ type: EVALUATED, value });

/** Filters and string methods whose output can be far larger than their inputs (a width, a count, a list of the same string). */
const AMPLIFYING = new Set(['indent', 'replace', 'join', 'tojson', 'string']);

/** What one render used, for measuring real templates against the limits. */
export interface TemplateUsage {
  steps: number;
  depth: number;
  ms: number;
}

class LimitedInterpreter extends Interpreter {
  steps = 0;
  maxDepthSeen = 0;
  private depth = 0;
  private readonly deadline: number;
  private readonly sizes = new ValueSizes();

  constructor(
    env: Environment,
    private readonly limits: TemplateLimits,
  ) {
    super(env);
    this.deadline = performance.now() + limits.maxMs;
    // Loops run their body through evaluateBlock once per item, without an
    // evaluate() when the body is empty: the step is counted there too.
    const self = this as unknown as { evaluateBlock(statements: unknown, env: Environment): RuntimeValue };
    const evaluateBlock = self.evaluateBlock.bind(this);
    self.evaluateBlock = (statements, env) => {
      this.step();
      return evaluateBlock(statements, env);
    };
  }

  /** One step: an evaluation, or one pass through a block (a loop with an empty body still takes a step per item). */
  private step(): void {
    const { limits } = this;
    if (++this.steps > limits.maxSteps) throw limitError('steps', limits.maxSteps, 'steps');
    if (this.steps % CLOCK_EVERY === 0 && performance.now() > this.deadline) throw limitError('time', limits.maxMs, 'ms');
  }

  override evaluate(statement: Statement, environment: Environment): RuntimeValue {
    const node = statement as unknown as Node | undefined;
    if (node?.type === EVALUATED) return node.value as RuntimeValue;
    const { limits } = this;
    this.step();
    if (this.depth >= limits.maxDepth) throw limitError('depth', limits.maxDepth, 'levels');
    this.depth++;
    if (this.depth > this.maxDepthSeen) this.maxDepthSeen = this.depth;
    try {
      const result = node && amplifyingName(node) ? this.evaluateChecked(node, environment) : super.evaluate(statement, environment);
      this.checkSize(result);
      return result;
    } finally {
      this.depth--;
    }
  }

  private checkSize(result: RuntimeValue): void {
    const v: unknown = result.value;
    if (typeof v === 'string' && v.length > this.limits.maxChars) throw limitError('output size', this.limits.maxChars, 'characters');
    if (Array.isArray(v) || v instanceof Map) {
      // Printed or joined, a list holds every path through it: a list of the
      // same long string many times, or of itself twice nested many times,
      // is small in memory but not on paper.
      const m = this.sizes.of(result);
      if (m.paths > this.limits.maxItems) throw limitError('list length', this.limits.maxItems, 'items');
      if (m.chars > this.limits.maxChars) throw limitError('output size', this.limits.maxChars, 'characters');
    }
  }

  /** A filter or method that can amplify: its operand and arguments evaluated once, its output measured before it is built. */
  private evaluateChecked(node: Node, env: Environment): RuntimeValue {
    const name = amplifyingName(node)!;
    const call = (node.type === 'FilterExpression' ? node.filter : node) as Node;
    const operandNode = (node.type === 'FilterExpression' ? node.operand : (node.callee as Node).object) as Statement;
    const operand = this.evaluate(operandNode, env);
    const args = call.type === 'CallExpression' ? (call.args as Node[]).map((a) => this.evaluateArgument(a, env)) : [];
    const [positional, kwargs] = (this as unknown as { evaluateArguments(a: Node[], e: Environment): [RuntimeValue[], Map<string, RuntimeValue>] }).evaluateArguments(args, env);
    const size = outputSize(name, operand, positional, kwargs, this.sizes);
    if (size > this.limits.maxChars) throw limitError('output size', this.limits.maxChars, 'characters');
    const newCall = call.type === 'CallExpression' ? { ...call, args } : call;
    const rebuilt =
      node.type === 'FilterExpression'
        ? { ...node, operand: evaluated(operand), filter: newCall }
        : { ...newCall, callee: { ...(node.callee as Node), object: evaluated(operand) } };
    return super.evaluate(rebuilt as unknown as Statement, env);
  }

  private evaluateArgument(a: Node, env: Environment): Node {
    if (a.type === 'KeywordArgumentExpression') return { ...a, value: evaluated(this.evaluate(a.value as Statement, env)) };
    if (a.type === 'SpreadExpression' || a.type === 'KeywordSpreadExpression') return { ...a, argument: evaluated(this.evaluate(a.argument as Statement, env)) };
    return evaluated(this.evaluate(a as unknown as Statement, env));
  }
}

/** The name of an amplifying filter (`x | indent(8)`) or string method (`x.replace(a, b)`), or null. */
function amplifyingName(node: Node): string | null {
  let name: unknown = null;
  if (node.type === 'FilterExpression') {
    const f = node.filter as Node;
    name = f.type === 'Identifier' ? f.value : f.type === 'CallExpression' && (f.callee as Node).type === 'Identifier' ? (f.callee as Node).value : null;
  } else if (node.type === 'CallExpression' && (node.callee as Node).type === 'MemberExpression' && !(node.callee as Node).computed) {
    const property = (node.callee as Node).property as Node;
    name = property.type === 'Identifier' && property.value === 'replace' ? 'replace' : null;
  }
  return typeof name === 'string' && AMPLIFYING.has(name) ? name : null;
}

/** What a value would print as: its strings' characters over every path through it, the paths to its items (leaves), and the nesting. */
interface ValueSize {
  chars: number;
  paths: number;
  depth: number;
}

/**
 * Sizes of lists and mappings, remembered per value: lists and literals
 * never change once made, so a list made of an earlier list twice costs one
 * step to measure. Namespaces change (`set ns.x = ...`) and are measured
 * afresh; one that contains itself prints forever.
 */
class ValueSizes {
  private readonly known = new WeakMap<object, ValueSize>();
  private readonly open = new Set<object>();

  of(value: RuntimeValue): ValueSize {
    const v: unknown = value.value;
    if (typeof v === 'string') return { chars: v.length, paths: 1, depth: 0 };
    if (!Array.isArray(v) && !(v instanceof Map)) return { chars: 0, paths: 1, depth: 0 };
    const cached = this.known.get(value);
    if (cached) return cached;
    if (this.open.has(value)) return { chars: Infinity, paths: Infinity, depth: Infinity };
    this.open.add(value);
    const size = { chars: 0, paths: 0, depth: 1 };
    try {
      const children: RuntimeValue[] = Array.isArray(v) ? v : [...(v as Map<string, RuntimeValue>).values()];
      if (v instanceof Map) for (const k of v.keys()) size.chars += String(k).length;
      for (const c of children) {
        const m = this.of(c);
        size.chars += m.chars;
        size.paths += m.paths;
        size.depth = Math.max(size.depth, m.depth + 1);
      }
    } finally {
      this.open.delete(value);
    }
    size.paths = Math.max(1, size.paths);
    if (value.type !== 'NamespaceValue') this.known.set(value, size);
    return size;
  }
}

/** An upper bound on the characters an amplifying operation makes (0 when it does not apply to these operands). */
function outputSize(name: string, operand: RuntimeValue, args: RuntimeValue[], kwargs: Map<string, RuntimeValue>, sizes: ValueSizes): number {
  const arg = (i: number, key: string): unknown => (args[i] ?? kwargs.get(key))?.value;
  const v: unknown = operand.value;
  switch (name) {
    case 'indent': {
      if (typeof v !== 'string') return 0;
      const width = arg(0, 'width') ?? 4;
      const lines = v.split('\n').length;
      return v.length + lines * (typeof width === 'number' ? Math.max(0, width) : String(width).length);
    }
    case 'replace': {
      const [from, to] = [arg(0, 'old'), arg(1, 'new')];
      if (typeof v !== 'string' || typeof from !== 'string' || typeof to !== 'string') return 0;
      const hits = from === '' ? v.length + 1 : v.split(from).length - 1;
      return v.length + hits * Math.max(0, to.length - from.length);
    }
    case 'join': {
      if (!Array.isArray(v)) return 0;
      const sep = arg(0, 'd');
      return sizes.of(operand).chars + (typeof sep === 'string' ? sep.length * Math.max(0, v.length - 1) : 0);
    }
    default: {
      // tojson / string of a list or mapping: every value on its own line, indented by its depth.
      const indent = arg(0, 'indent');
      const width = typeof indent === 'number' ? Math.max(0, indent) : typeof indent === 'string' ? indent.length : 0;
      const { chars, paths, depth } = sizes.of(operand);
      return chars + paths * (8 + width * depth);
    }
  }
}

/** Python's range(), refusing before it builds a list longer than the limit. */
function boundedRange(maxItems: number) {
  return (start: number, stop?: number, step = 1): number[] => {
    if (stop === undefined) [start, stop] = [0, start];
    if (![start, stop, step].every(Number.isInteger)) throw new Error('range() arguments must be integers');
    if (step === 0) throw new Error('range() step must not be zero');
    const count = Math.max(0, Math.ceil((stop - start) / step));
    if (count > maxItems) throw limitError('list length', maxItems, 'items');
    return Array.from({ length: count }, (_, i) => start + i * step);
  };
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** strftime of the current local time, C locale (what llama.cpp's templates get): %Y %m %d %H %M %S %b %B %a %A %%. */
export function strftimeNow(format: string, now = new Date()): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const fields: Record<string, string> = {
    Y: String(now.getFullYear()),
    m: two(now.getMonth() + 1),
    d: two(now.getDate()),
    H: two(now.getHours()),
    M: two(now.getMinutes()),
    S: two(now.getSeconds()),
    b: MONTHS[now.getMonth()].slice(0, 3),
    B: MONTHS[now.getMonth()],
    a: DAYS[now.getDay()].slice(0, 3),
    A: DAYS[now.getDay()],
    '%': '%',
  };
  return format.replace(/%(.)/g, (all, c: string) => fields[c] ?? all);
}

/** Parses a template the way chat templates are written (blocks trim their newline and leading blanks). */
export function parseTemplate(source: string): Program {
  return new Template(source).parsed;
}

/** Renders a parsed template with `vars` under `limits`; throws clw-template-limit past one, or the template's own error. */
export function renderLimited(program: Program, vars: Record<string, unknown>, limits: TemplateLimits = TEMPLATE_LIMITS, usage?: TemplateUsage): string {
  const env = new Environment();
  const globals: Record<string, unknown> = {
    true: true,
    false: false,
    none: null,
    True: true,
    False: false,
    None: null,
    raise_exception: (message: unknown) => {
      throw new Error(String(message));
    },
    range: boundedRange(limits.maxItems),
    strftime_now: (format: string) => strftimeNow(String(format)),
  };
  for (const [k, v] of Object.entries({ ...globals, ...vars })) env.set(k, v);
  let out: RuntimeValue;
  const t0 = performance.now();
  const interpreter = new LimitedInterpreter(env, limits);
  try {
    out = interpreter.run(program);
  } catch (e) {
    // A string past the engine's own maximum length: the same limit, met inside one step.
    if (e instanceof RangeError && /string length/i.test(e.message)) throw limitError('output size', limits.maxChars, 'characters');
    // The JavaScript stack ran out before the depth limit (a small stack): the same limit.
    if (e instanceof RangeError && /call stack/i.test(e.message)) throw limitError('depth', limits.maxDepth, 'levels');
    throw e;
  } finally {
    if (usage) Object.assign(usage, { steps: interpreter.steps, depth: interpreter.maxDepthSeen, ms: performance.now() - t0 });
  }
  return String(out.value);
}
