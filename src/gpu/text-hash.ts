// A fast string hash for keys: of kernels' assembled text (GpuDispatcher.kernelId)
// and of a matvec search's identity (matvec-memory.ts).

/** A 106-bit hash of `text` (two 53-bit lanes, hex): a cache key, not a security measure. */
export function hashText(text: string): string {
  let a = 0xdeadbeef;
  let b = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 2654435761);
    b = Math.imul(b ^ c, 1597334677);
  }
  a = Math.imul(a ^ (a >>> 16), 2246822507) ^ Math.imul(b ^ (b >>> 13), 3266489909);
  b = Math.imul(b ^ (b >>> 16), 2246822507) ^ Math.imul(a ^ (a >>> 13), 3266489909);
  const lo = 4294967296 * (2097151 & b) + (a >>> 0);
  a = Math.imul(a ^ 0x9e3779b9, 2654435761);
  b = Math.imul(b ^ 0x85ebca6b, 1597334677);
  const hi = 4294967296 * (2097151 & b) + (a >>> 0);
  return hi.toString(16).padStart(14, '0') + lo.toString(16).padStart(14, '0');
}
