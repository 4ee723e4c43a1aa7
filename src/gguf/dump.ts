// A human-readable listing of a GGUF file, in the spirit of llama.cpp's
// gguf-dump: header facts, every metadata entry with its type, and the
// tensor table. Used by the CLI and in bug reports.

import { GgufValueType, ggmlTypeName, type GgufArray, type GgufFile, type GgufValue } from './types';

export interface DumpOptions {
  /** Array elements shown before the rest is summarised (default 8). */
  maxArrayElements?: number;
  /** Characters of a string value shown before it is cut (default 120). */
  maxStringChars?: number;
}

export function formatGgufDump(file: GgufFile, options: DumpOptions = {}): string {
  const maxElements = options.maxArrayElements ?? 8;
  const maxChars = options.maxStringChars ?? 120;
  const lines: string[] = [];
  lines.push(`GGUF v${file.version}, ${file.fileSize} bytes, alignment ${file.alignment}, tensor data at ${file.tensorDataOffset}`);
  lines.push(`${file.metadata.size} metadata entries, ${file.tensors.length} tensors`);
  lines.push('');
  lines.push('metadata:');
  let i = 0;
  for (const entry of file.metadata.values()) {
    const type = entry.type === GgufValueType.ARRAY ? arrayTypeName(entry.value as GgufArray) : typeName(entry.type);
    lines.push(`  ${String(i++).padStart(4)}: ${type.padEnd(14)} ${entry.key} = ${formatValue(entry.value, maxElements, maxChars)}`);
  }
  lines.push('');
  lines.push('tensors:');
  file.tensors.forEach((t, n) => {
    const shape = `[${t.shape.join(', ')}]`;
    lines.push(
      `  ${String(n).padStart(4)}: ${t.name.padEnd(28)} ${shape.padEnd(22)} ${ggmlTypeName(t.type).padEnd(8)} ${String(t.byteSize).padStart(12)} bytes @ ${t.fileOffset}`,
    );
  });
  return lines.join('\n');
}

function typeName(type: GgufValueType): string {
  return GgufValueType[type] ?? `type(${type})`;
}

function arrayTypeName(arr: GgufArray): string {
  const inner = arr.elementType === GgufValueType.ARRAY && arr.values.length > 0 ? arrayTypeName(arr.values[0] as GgufArray) : typeName(arr.elementType);
  return `ARRAY[${inner}]`;
}

function formatValue(value: GgufValue, maxElements: number, maxChars: number): string {
  if (typeof value === 'string') {
    const shown = value.length > maxChars ? `${value.slice(0, maxChars)}...` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  const shown = value.values.slice(0, maxElements).map((v) => formatValue(v, maxElements, maxChars));
  const more = value.values.length > maxElements ? `, ... (${value.values.length} elements)` : '';
  return `[${shown.join(', ')}${more}]`;
}
