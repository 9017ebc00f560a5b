/**
 * Text safe to show on a terminal. Node addresses, nodeinfo values, balancer reasons and metrics text are written by
 * whoever can write etcd or answer a scrape: shown raw, a control sequence in one (`ESC ]0;title BEL`, `ESC [2J`,
 * an OSC 52 clipboard write, the one-byte C1 CSI U+009B) would act on the operator's terminal, and bidi overrides
 * would make a value read as something else. Tables, console lines, error messages and log lines show such
 * characters escaped; JSON documents keep the exact string (`printableJson` only chooses how it is escaped).
 */

/**
 * What is escaped: Cc (C0 controls, DEL, C1 controls), Cf (format characters: bidi embeddings, overrides and
 * isolates, zero-width characters, soft hyphen, BOM, tag characters), Cs (lone surrogates), and the line and
 * paragraph separators U+2028 and U+2029 (Zl, Zp).
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;

const hex = (n: number, digits: number): string => n.toString(16).padStart(digits, '0');

/** `\x1b` below U+0080, `\u009b` in the BMP, `\u{e0041}` beyond; a lone surrogate as its own code unit. */
function escapeForDisplay(ch: string): string {
  const cp = ch.codePointAt(0)!;
  if (cp < 0x80) return `\\x${hex(cp, 2)}`;
  return cp <= 0xffff ? `\\u${hex(cp, 4)}` : `\\u{${cp.toString(16)}}`;
}

/**
 * `text` with every unprintable character shown as an escape (`\x1b`, `\u009b`, `\u202e`); printable text comes back
 * as the same string. A backslash is left as it is: the result is for reading, never parsed back.
 */
export function printable(text: string): string {
  // Printable ASCII, by far the common case, costs one pass and no regular expression.
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return text.replace(UNPRINTABLE, escapeForDisplay);
  }
  return text;
}

/** Multi-line text (a stack trace) shown printable line by line, its own line breaks kept. */
export function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}

/**
 * Unprintable characters JSON.stringify leaves raw: all but C0, which it escapes inside strings; outside them only
 * JSON's own white space occurs.
 */
const RAW_IN_JSON = /(?![\t\n\r])[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;

/** A JSON `\u` escape per UTF-16 code unit (a character beyond the BMP becomes its surrogate pair). */
function escapeForJson(ch: string): string {
  let out = '';
  for (let i = 0; i < ch.length; i++) out += `\\u${hex(ch.charCodeAt(i), 4)}`;
  return out;
}

/**
 * A JSON text (from JSON.stringify) that is safe on a terminal and parses to the same value: JSON.stringify escapes C0
 * controls and lone surrogates but writes DEL, C1 controls, bidi overrides and other format characters raw, so those
 * become `\u` escapes too. Outside strings JSON has none of them, so only string contents change.
 */
export function printableJson(json: string): string {
  for (let i = 0; i < json.length; i++) {
    if (json.charCodeAt(i) > 0x7e) return json.replace(RAW_IN_JSON, escapeForJson);
  }
  return json;
}
