const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 16777619;
const encoder = new TextEncoder();

/** FNV-1a 32-bit over the UTF-8 bytes of `text` (Math.imul keeps the product exact modulo 2^32). */
export function fnv1a32(text: string): number {
  let h = FNV_OFFSET;
  // ASCII fast path avoids allocating an encoded copy for the common case.
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) {
      ascii = false;
      break;
    }
    h = Math.imul(h ^ c, FNV_PRIME) >>> 0;
  }
  if (ascii) return h;
  h = FNV_OFFSET;
  for (const byte of encoder.encode(text)) h = Math.imul(h ^ byte, FNV_PRIME) >>> 0;
  return h;
}
