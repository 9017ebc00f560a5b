/**
 * The few bytes of the protobuf wire format the upstream gate's REST API needs, by hand: a message is a sequence of
 * fields, each a key varint `(field number << 3) | wire type` followed by a varint (type 0) or a length varint and
 * that many bytes (type 2). `google.protobuf.Any` is `{ string type_url = 1; bytes value = 2; }`. Nothing else of
 * protobuf (fixed32/64, groups, packed fields) is used by the Counter sample, so it is rejected on decode.
 */

export class ProtobufDecodeError extends Error {
  constructor(
    readonly offset: number,
    reason: string,
  ) {
    super(`protobuf at byte ${offset}: ${reason}`);
  }
}

const VARINT = 0;
const LENGTH_DELIMITED = 2;
/** A varint of an int64 is at most 10 bytes. */
const MAX_VARINT_BYTES = 10;

/** Unsigned varint of a non-negative integer below 2^64 (given as bigint when it may exceed 2^53). */
export function encodeVarint(value: number | bigint): Uint8Array {
  let v = BigInt(value);
  if (v < 0n || v >= 1n << 64n) throw new RangeError(`varint out of range: ${value}`);
  const out: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? low | 0x80 : low);
  } while (v > 0n);
  return Uint8Array.from(out);
}

/** An int32 field value as protobuf writes it: negative numbers sign-extend to 64 bits (10 bytes). */
export function encodeInt32(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) throw new RangeError(`not an int32: ${value}`);
  return encodeVarint(value < 0 ? (1n << 64n) + BigInt(value) : value);
}

function key(field: number, wireType: number): Uint8Array {
  if (!Number.isInteger(field) || field < 1 || field >= 2 ** 29) throw new RangeError(`bad field number ${field}`);
  return encodeVarint(field * 8 + wireType);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One int32 field; proto3 omits the default (0), so does this. */
export function int32Field(field: number, value: number): Uint8Array {
  return value === 0 ? new Uint8Array(0) : concatBytes([key(field, VARINT), encodeInt32(value)]);
}

/** One bytes field (length-delimited); proto3 omits an empty one. */
export function bytesField(field: number, value: Uint8Array): Uint8Array {
  return value.length === 0 ? new Uint8Array(0) : concatBytes([key(field, LENGTH_DELIMITED), encodeVarint(value.length), value]);
}

export function stringField(field: number, value: string): Uint8Array {
  return bytesField(field, new TextEncoder().encode(value));
}

/** A decoded field: varints as bigint (so 64-bit values survive), length-delimited values as bytes. */
export type WireValue = { readonly wireType: 0; readonly value: bigint } | { readonly wireType: 2; readonly value: Uint8Array };

/** Every field of a message by number, in order of appearance (a repeated or re-sent field has several). */
export function decodeFields(bytes: Uint8Array): Map<number, WireValue[]> {
  const fields = new Map<number, WireValue[]>();
  let at = 0;
  const varint = (): bigint => {
    const start = at;
    let v = 0n;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (at >= bytes.length) throw new ProtobufDecodeError(start, 'truncated varint');
      const b = bytes[at++]!;
      v |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) return v;
    }
    throw new ProtobufDecodeError(start, 'varint longer than 10 bytes');
  };
  while (at < bytes.length) {
    const keyAt = at;
    const k = varint();
    const field = Number(k >> 3n);
    const wireType = Number(k & 7n);
    if (field < 1) throw new ProtobufDecodeError(keyAt, `field number ${field}`);
    let entry: WireValue;
    if (wireType === VARINT) entry = { wireType: 0, value: varint() };
    else if (wireType === LENGTH_DELIMITED) {
      const lengthAt = at;
      const length = varint();
      if (length > BigInt(bytes.length - at)) throw new ProtobufDecodeError(lengthAt, `length ${length} runs past the end (${bytes.length - at} bytes left)`);
      entry = { wireType: 2, value: bytes.subarray(at, at + Number(length)) };
      at += Number(length);
    } else throw new ProtobufDecodeError(keyAt, `unsupported wire type ${wireType} (field ${field})`);
    const list = fields.get(field);
    if (list === undefined) fields.set(field, [entry]);
    else list.push(entry);
  }
  return fields;
}

/** The last value of a field (proto3 semantics for a non-repeated field), checked for its wire type. */
function last<W extends WireValue['wireType']>(fields: Map<number, WireValue[]>, field: number, wireType: W): Extract<WireValue, { wireType: W }> | undefined {
  const values = fields.get(field);
  const v = values?.[values.length - 1];
  if (v === undefined) return undefined;
  if (v.wireType !== wireType) throw new ProtobufDecodeError(0, `field ${field} has wire type ${v.wireType}, expected ${wireType}`);
  return v as Extract<WireValue, { wireType: W }>;
}

/** An int32 field (0 when absent): the varint's low 32 bits, signed. */
export function readInt32(fields: Map<number, WireValue[]>, field: number): number {
  const v = last(fields, field, VARINT);
  return v === undefined ? 0 : Number(BigInt.asIntN(32, v.value));
}

export function readBytes(fields: Map<number, WireValue[]>, field: number): Uint8Array {
  return last(fields, field, LENGTH_DELIMITED)?.value ?? new Uint8Array(0);
}

export function readString(fields: Map<number, WireValue[]>, field: number): string {
  return new TextDecoder('utf-8', { fatal: true }).decode(readBytes(fields, field));
}

/** `google.protobuf.Any`. */
export interface AnyMessage {
  readonly typeUrl: string;
  readonly value: Uint8Array;
}

export function encodeAny(any: AnyMessage): Uint8Array {
  return concatBytes([stringField(1, any.typeUrl), bytesField(2, any.value)]);
}

export function decodeAny(bytes: Uint8Array): AnyMessage {
  const fields = decodeFields(bytes);
  return { typeUrl: readString(fields, 1), value: readBytes(fields, 2) };
}

/** The message's full name: what follows the last `/` of the type URL (how upstream resolves it). */
export function anyTypeName(any: AnyMessage): string {
  return any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1);
}
