// JSON Schema -> GBNF (gbnf.ts), for response_format json_schema and for
// any JSON object (json_object). Supported: type (one or a list), object
// properties with required and optional keys (written in the schema's order;
// no keys beyond `properties`, as OpenAI's strict mode), nested objects,
// arrays (items, minItems, maxItems), enum, const, string (minLength,
// maxLength, pattern: a regex subset, see regex.ts), integer, number,
// boolean, null, anyOf / oneOf (as alternatives: oneOf's exclusivity is not
// enforced), allOf with one member, and $ref to #/$defs/... or
// #/definitions/... (recursion allowed). Annotations (title, description,
// default, examples, format, $schema, $id, $comment) are ignored. Keywords
// that constrain values in ways the grammar does not express (minimum,
// maximum, multipleOf, uniqueItems, not, if/then/else, patternProperties,
// ...) are rejected with clw-bad-request, so output is never claimed valid
// when it may not be.
//
// Numbers are written with at most 16 digits before and after the point and
// 3 in the exponent; whitespace between tokens is at most a space or a
// newline and 20 spaces or tabs (so a model cannot pad forever).

import { badGrammar } from './gbnf';
import { patternToGbnf } from './regex';

const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', 'format', '$schema', '$id', '$comment', 'deprecated', 'readOnly', 'writeOnly', 'strict', 'name']);
const HANDLED = new Set(['type', 'properties', 'required', 'additionalProperties', 'items', 'minItems', 'maxItems', 'enum', 'const', 'minLength', 'maxLength', 'pattern', 'anyOf', 'oneOf', 'allOf', '$ref', '$defs', 'definitions']);

const BASE_RULES: Record<string, string> = {
  ws: '| " " | "\\n" [ \\t]{0,20}',
  char: '[^"\\\\\\x00-\\x1F] | "\\\\" (["\\\\/bfnrt] | "u" [0-9a-fA-F]{4})',
  string: '"\\"" char* "\\""',
  integer: '"-"? ("0" | [1-9] [0-9]{0,15})',
  number: 'integer ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})?',
  boolean: '"true" | "false"',
  null: '"null"',
  value: 'object | array | string | number | boolean | null',
  object: '"{" ws (string ws ":" ws value ws ("," ws string ws ":" ws value ws)*)? "}"',
  array: '"[" ws (value ws ("," ws value ws)*)? "]"',
};
/** Which base rules each base rule uses (to emit only those needed). */
const BASE_DEPS: Record<string, string[]> = {
  string: ['char'],
  number: ['integer'],
  value: ['object', 'array', 'string', 'number', 'boolean', 'null'],
  object: ['ws', 'string', 'value'],
  array: ['ws', 'value'],
};

/** A grammar for any JSON object. */
export function jsonObjectGbnf(): string {
  return new SchemaCompiler({}).compileRoot({ type: 'object' });
}

export function jsonSchemaToGbnf(schema: unknown): string {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    if (schema === true) return new SchemaCompiler({}).compileRoot({});
    throw badGrammar('the JSON Schema must be an object');
  }
  return new SchemaCompiler(schema as Record<string, unknown>).compileRoot(schema);
}

type Schema = Record<string, unknown>;

class SchemaCompiler {
  private readonly rules = new Map<string, string>();
  private readonly base = new Set<string>();
  private readonly names = new Set<string>();
  private readonly defs = new Map<string, string>();

  constructor(private readonly rootSchema: Schema) {}

  compileRoot(schema: unknown): string {
    const body = this.expr(schema, 'root');
    const lines = [`root ::= ${body}`];
    for (const [name, rule] of this.rules) lines.push(`${name} ::= ${rule}`);
    for (const name of this.allBase()) lines.push(`${name} ::= ${BASE_RULES[name]}`);
    return lines.join('\n') + '\n';
  }

  private allBase(): string[] {
    const todo = [...this.base];
    for (let i = 0; i < todo.length; i++) for (const d of BASE_DEPS[todo[i]] ?? []) if (!todo.includes(d)) todo.push(d);
    return todo;
  }

  private useBase(name: string): string {
    this.base.add(name);
    return name;
  }

  /** A new rule named after `hint`; returns its name. */
  private rule(hint: string, body: string): string {
    let name = hint.replace(/[^A-Za-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').toLowerCase() || 'r';
    if (name in BASE_RULES || name === 'root' || this.names.has(name)) {
      let k = 1;
      while (this.names.has(`${name}-${k}`)) k++;
      name = `${name}-${k}`;
    }
    this.names.add(name);
    this.rules.set(name, body);
    return name;
  }

  /** A GBNF expression for the values `schema` allows. */
  private expr(schema: unknown, hint: string): string {
    if (schema === true || (typeof schema === 'object' && schema !== null && Object.keys(schema).length === 0)) return this.useBase('value');
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw badGrammar(`schema at ${hint} must be an object (found ${JSON.stringify(schema)})`);
    const s = schema as Schema;
    for (const key of Object.keys(s)) {
      if (!HANDLED.has(key) && !ANNOTATIONS.has(key) && !(key === 'uniqueItems' && s[key] === false)) {
        throw badGrammar(`JSON Schema keyword "${key}" (at ${hint}) is not supported by the grammar compiler`, { keyword: key });
      }
    }
    if (s.$ref !== undefined) return this.ref(s.$ref, hint);
    if (s.const !== undefined) return jsonLiteral(s.const);
    if (s.enum !== undefined) {
      if (!Array.isArray(s.enum) || s.enum.length === 0) throw badGrammar(`"enum" at ${hint} must be a non-empty array`);
      return `(${s.enum.map(jsonLiteral).join(' | ')})`;
    }
    const alts = (s.anyOf ?? s.oneOf) as unknown;
    if (alts !== undefined) {
      if (!Array.isArray(alts) || alts.length === 0) throw badGrammar(`"anyOf"/"oneOf" at ${hint} must be a non-empty array`);
      return `(${alts.map((a, i) => this.expr(a, `${hint}-${i}`)).join(' | ')})`;
    }
    if (s.allOf !== undefined) {
      if (!Array.isArray(s.allOf) || s.allOf.length !== 1) throw badGrammar(`"allOf" at ${hint} is supported only with one member`);
      return this.expr(s.allOf[0], hint);
    }
    const type = s.type;
    if (Array.isArray(type)) {
      if (type.length === 0) throw badGrammar(`"type" at ${hint} is an empty list`);
      return `(${type.map((t) => this.typed(String(t), s, hint)).join(' | ')})`;
    }
    if (type === undefined) {
      if (s.properties !== undefined) return this.typed('object', s, hint);
      if (s.items !== undefined) return this.typed('array', s, hint);
      return this.useBase('value');
    }
    return this.typed(String(type), s, hint);
  }

  private typed(type: string, s: Schema, hint: string): string {
    switch (type) {
      case 'object':
        return this.object(s, hint);
      case 'array':
        return this.array(s, hint);
      case 'string':
        return this.string(s, hint);
      case 'integer':
      case 'number':
      case 'boolean':
      case 'null':
        return this.useBase(type);
      default:
        throw badGrammar(`unknown type "${type}" at ${hint}`);
    }
  }

  private object(s: Schema, hint: string): string {
    const props = s.properties;
    if (props === undefined) {
      if (s.additionalProperties === false) return '"{" ws "}"';
      this.useBase('ws');
      return this.useBase('object');
    }
    if (typeof props !== 'object' || props === null || Array.isArray(props)) throw badGrammar(`"properties" at ${hint} must be an object`);
    const required = s.required ?? [];
    if (!Array.isArray(required)) throw badGrammar(`"required" at ${hint} must be an array`);
    const keys = Object.keys(props);
    for (const r of required) if (!keys.includes(String(r))) throw badGrammar(`required key "${String(r)}" at ${hint} is not in "properties"`);
    this.useBase('ws');
    // Each key-value pair is a rule: it is used twice below, and nested objects would otherwise double per level.
    const kv = keys.map((k) => this.rule(`${hint}-${k}-kv`, `${jsonLiteral(k)} ws ":" ws ${this.expr((props as Schema)[k], `${hint}-${k}`)} ws`));
    const isRequired = keys.map((k) => required.includes(k));
    // rest[i]: keys i.. after at least one key was written (each preceded by a comma); rest[0] is never needed.
    const rest: string[] = new Array(keys.length + 1).fill('');
    for (let i = keys.length - 1; i >= 1; i--) {
      const item = `"," ws ${kv[i]}`;
      const tail = rest[i + 1];
      const body = isRequired[i] ? `${item} ${tail}` : `(${item})? ${tail}`;
      rest[i] = this.rule(`${hint}-from-${keys[i]}`, body.trim());
    }
    // first[i]: keys i.. with none written yet.
    let first = '';
    for (let i = keys.length - 1; i >= 0; i--) {
      const take = `${kv[i]} ${rest[i + 1]}`.trim();
      first = isRequired[i] ? take : first === '' ? `(${take})?` : `(${take} | ${first})`;
    }
    return `"{" ws ${first} "}"`.replace(/\s+/g, ' ');
  }

  private array(s: Schema, hint: string): string {
    const min = nonNegativeInt(s.minItems ?? 0, 'minItems', hint);
    const max = s.maxItems === undefined ? Infinity : nonNegativeInt(s.maxItems, 'maxItems', hint);
    if (max < min) throw badGrammar(`maxItems < minItems at ${hint}`);
    if (Array.isArray(s.items)) throw badGrammar(`tuple "items" (an array) at ${hint} is not supported`);
    this.useBase('ws');
    const item = this.rule(`${hint}-item`, this.expr(s.items ?? {}, `${hint}-item`));
    if (max === 0) return '"[" ws "]"';
    const more = max === Infinity ? `("," ws ${item} ws)${min > 1 ? `{${min - 1},}` : '*'}` : max === 1 ? '' : `("," ws ${item} ws){${Math.max(0, min - 1)},${max - 1}}`;
    const items = `${item} ws ${more}`.trim();
    return min === 0 ? `"[" ws (${items})? "]"` : `"[" ws ${items} "]"`;
  }

  private string(s: Schema, hint: string): string {
    if (s.pattern !== undefined) {
      if (typeof s.pattern !== 'string') throw badGrammar(`"pattern" at ${hint} must be a string`);
      if (s.minLength !== undefined || s.maxLength !== undefined) throw badGrammar(`"pattern" with minLength/maxLength at ${hint} is not supported`);
      return `"\\"" ${this.rule(`${hint}-pattern`, patternToGbnf(s.pattern))} "\\""`;
    }
    if (s.minLength === undefined && s.maxLength === undefined) return this.useBase('string');
    const min = nonNegativeInt(s.minLength ?? 0, 'minLength', hint);
    const max = s.maxLength === undefined ? Infinity : nonNegativeInt(s.maxLength, 'maxLength', hint);
    if (max < min) throw badGrammar(`maxLength < minLength at ${hint}`);
    this.useBase('char');
    return `"\\"" char{${min},${max === Infinity ? '' : max}} "\\""`;
  }

  private ref(ref: unknown, hint: string): string {
    if (typeof ref !== 'string') throw badGrammar(`"$ref" at ${hint} must be a string`);
    const m = /^#\/(\$defs|definitions)\/([^/]+)$/.exec(ref);
    if (!m) throw badGrammar(`"$ref" ${ref} at ${hint}: only local #/$defs/NAME and #/definitions/NAME are supported`);
    const known = this.defs.get(ref);
    if (known) return known;
    const table = this.rootSchema[m[1]] as Schema | undefined;
    const target = table?.[m[2]];
    if (target === undefined) throw badGrammar(`"$ref" ${ref} at ${hint} points to nothing`);
    // Name the rule before compiling it, so a recursive reference finds it.
    const name = this.rule(`def-${m[2]}`, '');
    this.defs.set(ref, name);
    this.rules.set(name, this.expr(target, `def-${m[2]}`));
    return name;
  }
}

function nonNegativeInt(v: unknown, key: string, hint: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw badGrammar(`"${key}" at ${hint} must be a non-negative integer`);
  if (v > 1000) throw badGrammar(`"${key}" at ${hint} is over 1000`);
  return v;
}

/** A JSON value written exactly, as a GBNF literal. */
function jsonLiteral(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw badGrammar(`${String(value)} is not a JSON value`);
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + '"';
}
