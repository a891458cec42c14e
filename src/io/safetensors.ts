/**
 * The safetensors file format, written from its public specification (no Node APIs, so it also
 * runs in a browser):
 *
 * ```
 * [8 bytes]  N: unsigned 64-bit little-endian length of the header
 * [N bytes]  UTF-8 JSON object: { "<name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] },
 *                                 "__metadata__": { "<key>": "<string value>" } }
 *            padded at the end with spaces (0x20) so that 8 + N is a multiple of 8
 * [rest]     the byte buffer: each tensor's row-major little-endian bytes at [begin, end)
 *            relative to the start of the buffer; the tensors tile the buffer exactly, with no gaps
 * ```
 *
 * Like the reference writer, the encoder orders tensors by element size (largest first, so every
 * tensor starts aligned to its element size) and then by name, writes `__metadata__` first, and uses
 * compact JSON.
 */

/** Element types this module reads and writes. */
export type SafetensorsDtype =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U64"
  | "U32"
  | "U16"
  | "U8"
  | "BOOL";

/**
 * The typed array that holds each dtype. F16 and BF16 are kept as their raw 16-bit patterns in a
 * Uint16Array (convert with {@link tensorToFloat32}); BOOL is a Uint8Array of 0/1.
 */
export interface SafetensorsArrayOf {
  F64: Float64Array;
  F32: Float32Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I64: BigInt64Array;
  I32: Int32Array;
  I16: Int16Array;
  I8: Int8Array;
  U64: BigUint64Array;
  U32: Uint32Array;
  U16: Uint16Array;
  U8: Uint8Array;
  BOOL: Uint8Array;
}

export type SafetensorsArray = SafetensorsArrayOf[SafetensorsDtype];

/** One tensor: dtype, shape (row-major) and its elements (length = product of shape). */
export interface SafeTensor<D extends SafetensorsDtype = SafetensorsDtype> {
  dtype: D;
  shape: number[];
  data: SafetensorsArrayOf[D];
}

/** String-to-string metadata stored under `__metadata__`. */
export type SafetensorsMetadata = Record<string, string>;

/** Thrown for malformed input or data; the message names the source and what is wrong. */
export class SafetensorsError extends Error {
  override name = "SafetensorsError";
}

/** Largest header accepted when decoding (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

interface DtypeInfo {
  size: number;
  ctor: { new (buffer: ArrayBuffer, byteOffset?: number, length?: number): SafetensorsArray; readonly name: string };
}

const DTYPES: Record<SafetensorsDtype, DtypeInfo> = {
  F64: { size: 8, ctor: Float64Array },
  F32: { size: 4, ctor: Float32Array },
  F16: { size: 2, ctor: Uint16Array },
  BF16: { size: 2, ctor: Uint16Array },
  I64: { size: 8, ctor: BigInt64Array },
  I32: { size: 4, ctor: Int32Array },
  I16: { size: 2, ctor: Int16Array },
  I8: { size: 1, ctor: Int8Array },
  U64: { size: 8, ctor: BigUint64Array },
  U32: { size: 4, ctor: Uint32Array },
  U16: { size: 2, ctor: Uint16Array },
  U8: { size: 1, ctor: Uint8Array },
  BOOL: { size: 1, ctor: Uint8Array },
};

export function isSafetensorsDtype(s: unknown): s is SafetensorsDtype {
  return typeof s === "string" && Object.hasOwn(DTYPES, s);
}

/** The dtype a typed array is stored as when no dtype is given (Uint16Array and Uint8Array are ambiguous: U16, U8). */
export function dtypeOfArray(a: ArrayBufferView): SafetensorsDtype {
  if (a instanceof Float64Array) return "F64";
  if (a instanceof Float32Array) return "F32";
  if (a instanceof BigInt64Array) return "I64";
  if (a instanceof Int32Array) return "I32";
  if (a instanceof Int16Array) return "I16";
  if (a instanceof Int8Array) return "I8";
  if (a instanceof BigUint64Array) return "U64";
  if (a instanceof Uint32Array) return "U32";
  if (a instanceof Uint16Array) return "U16";
  if (a instanceof Uint8Array) return "U8";
  throw new SafetensorsError(`no safetensors dtype for ${a.constructor.name}`);
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverse the byte order of each `size`-byte element in place (only used on big-endian hosts). */
function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

function shapeToString(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function checkShape(shape: unknown, where: string): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new SafetensorsError(
      `${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`,
    );
  }
  return shape as number[];
}

/**
 * Serialize tensors (and optional string metadata) to safetensors bytes.
 * Each tensor's `data` must be the typed array of its dtype ({@link SafetensorsArrayOf}) with
 * exactly product(shape) elements. Throws {@link SafetensorsError} naming the offending tensor.
 */
export function encodeSafetensors(
  tensors: Record<string, SafeTensor> | Map<string, SafeTensor>,
  metadata?: SafetensorsMetadata,
): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const seen = new Set<string>();
  for (const [name, t] of entries) {
    if (name === "__metadata__")
      throw new SafetensorsError(`tensor name "__metadata__" is reserved by the format; rename the tensor`);
    if (name.length === 0) throw new SafetensorsError("tensor names must be non-empty");
    if (seen.has(name)) throw new SafetensorsError(`duplicate tensor name "${name}"`);
    seen.add(name);
    if (!isSafetensorsDtype(t.dtype))
      throw new SafetensorsError(
        `tensor "${name}": unknown dtype ${JSON.stringify(t.dtype)}; use one of ${Object.keys(DTYPES).join(", ")}`,
      );
    const shape = checkShape(t.shape, `tensor "${name}"`);
    const info = DTYPES[t.dtype];
    if (!(t.data instanceof info.ctor)) {
      const got = (t.data as object | null | undefined)?.constructor?.name ?? String(t.data);
      throw new SafetensorsError(`tensor "${name}": dtype ${t.dtype} needs a ${info.ctor.name}, got ${got}`);
    }
    if (t.data.length !== numel(shape)) {
      throw new SafetensorsError(
        `tensor "${name}": shape ${shapeToString(shape)} has ${numel(shape)} elements but data has ${t.data.length}`,
      );
    }
    if (t.dtype === "BOOL") {
      const d = t.data as Uint8Array;
      for (let i = 0; i < d.length; i++)
        if (d[i]! > 1)
          throw new SafetensorsError(`tensor "${name}": BOOL data must be 0 or 1, found ${d[i]} at index ${i}`);
    }
  }
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata))
      throw new SafetensorsError("metadata must be an object of strings");
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string")
        throw new SafetensorsError(
          `metadata "${k}" must be a string (the format stores strings only), got ${typeof v}; convert it with String() or JSON.stringify()`,
        );
    }
  }

  // Largest element first (keeps every tensor aligned to its element size), then by name.
  entries.sort(([na, a], [nb, b]) => DTYPES[b.dtype].size - DTYPES[a.dtype].size || (na < nb ? -1 : na > nb ? 1 : 0));

  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const [name, t] of entries) {
    const nbytes = t.data.length * DTYPES[t.dtype].size;
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + nbytes] };
    offset += nbytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLen % 4294967296, true);
  view.setUint32(4, Math.floor(headerLen / 4294967296), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const [, t] of entries) {
    const src = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(src, pos);
    if (!HOST_LITTLE_ENDIAN) swapBytes(out.subarray(pos, pos + src.length), DTYPES[t.dtype].size);
    pos += src.length;
  }
  return out;
}

/** Parsed header entry of one tensor. */
export interface SafetensorsHeaderEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  dataOffsets: [number, number];
}

/**
 * Parse and validate the header only (header length, JSON, dtypes, shapes, offsets against
 * `bytes.length`). `source` names the data in error messages (e.g. a file path).
 */
export function readSafetensorsHeader(
  bytes: Uint8Array,
  source = "safetensors data",
): { tensors: Map<string, SafetensorsHeaderEntry>; metadata: SafetensorsMetadata; dataStart: number } {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${source}: ${msg}`);
  };
  if (!(bytes instanceof Uint8Array)) fail("expected a Uint8Array of file bytes");
  if (bytes.length < 8)
    fail(
      `only ${bytes.length} bytes; a safetensors file starts with an 8-byte header length (truncated or not a safetensors file)`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true),
    hi = view.getUint32(4, true);
  if (hi !== 0 || lo > MAX_HEADER_BYTES)
    fail(
      `header length ${hi !== 0 ? "≥ 2^32" : lo} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`,
    );
  const n = lo;
  if (n < 2) fail(`header length ${n} is too small for a JSON object (corrupt or not a safetensors file)`);
  if (8 + n > bytes.length)
    fail(
      `header length ${n} runs past the end of the data (${bytes.length} bytes in all): the file is truncated or not a safetensors file`,
    );
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail("header is not valid UTF-8 (corrupt or not a safetensors file)");
  }
  if (!text.startsWith("{"))
    fail(`header does not start with '{' (starts with ${JSON.stringify(text.slice(0, 16))}): not a safetensors file`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    return fail("header JSON must be an object");

  const metadata: SafetensorsMetadata = {};
  const tensors = new Map<string, SafetensorsHeaderEntry>();
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (value === null || typeof value !== "object" || Array.isArray(value))
        fail(`"__metadata__" must be an object of strings`);
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`"__metadata__"."${k}" must be a string, got ${JSON.stringify(v)}`);
        metadata[k] = v as string;
      }
      continue;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value))
      fail(`tensor "${name}": header entry must be an object with dtype, shape, data_offsets`);
    const e = value as Record<string, unknown>;
    if (!isSafetensorsDtype(e.dtype))
      fail(
        `tensor "${name}": unsupported dtype ${JSON.stringify(e.dtype)} (supported: ${Object.keys(DTYPES).join(", ")})`,
      );
    const dtype = e.dtype as SafetensorsDtype;
    const shape = checkShape(e.shape, `${source}: tensor "${name}"`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((v) => Number.isSafeInteger(v) && (v as number) >= 0)) {
      fail(`tensor "${name}": data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(off)}`);
    }
    const [begin, end] = off as [number, number];
    if (end < begin) fail(`tensor "${name}": data_offsets [${begin}, ${end}] end before they begin`);
    const expected = numel(shape) * DTYPES[dtype].size;
    if (end - begin !== expected) {
      fail(
        `tensor "${name}": ${dtype} ${shapeToString(shape)} needs ${expected} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    tensors.set(name, { dtype, shape, dataOffsets: [begin, end] });
  }

  // Offsets must tile [0, bufferLength) exactly: contiguous, non-overlapping, no trailing bytes.
  const dataStart = 8 + n;
  const bufferLength = bytes.length - dataStart;
  const ordered = [...tensors.entries()].sort(
    ([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1],
  );
  let expectedBegin = 0;
  for (const [name, e] of ordered) {
    const [begin, end] = e.dataOffsets;
    if (begin !== expectedBegin) {
      fail(
        begin < expectedBegin
          ? `tensor "${name}": data_offsets [${begin}, ${end}] overlap the previous tensor (which ends at ${expectedBegin})`
          : `tensor "${name}": data_offsets [${begin}, ${end}] leave a gap after byte ${expectedBegin}; offsets must be contiguous`,
      );
    }
    if (end > bufferLength)
      fail(
        `tensor "${name}": data_offsets [${begin}, ${end}] run past the end of the ${bufferLength}-byte data buffer (file truncated?)`,
      );
    expectedBegin = end;
  }
  if (expectedBegin !== bufferLength) {
    fail(
      `the tensors cover ${expectedBegin} bytes of data but the buffer has ${bufferLength} (trailing garbage or a corrupt header)`,
    );
  }
  return { tensors, metadata, dataStart };
}

/**
 * Parse safetensors bytes into tensors (freshly allocated, aligned typed arrays; `bytes` is not
 * retained) and metadata. Validates the header length, the JSON, dtypes, that every tensor's byte
 * span equals product(shape)·elementSize, and that the offsets tile the data buffer exactly.
 * `source` names the data in error messages (e.g. a file path).
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = "safetensors data",
): { tensors: Map<string, SafeTensor>; metadata: SafetensorsMetadata } {
  const { tensors: header, metadata, dataStart } = readSafetensorsHeader(bytes, source);
  const tensors = new Map<string, SafeTensor>();
  for (const [name, e] of header) {
    const info = DTYPES[e.dtype];
    const [begin, end] = e.dataOffsets;
    // Copy into a fresh buffer (a Node Buffer's slice() is a view, and the source may be unaligned).
    const copy = new Uint8Array(end - begin);
    copy.set(bytes.subarray(dataStart + begin, dataStart + end));
    if (!HOST_LITTLE_ENDIAN) swapBytes(copy, info.size);
    const data = new info.ctor(copy.buffer, 0, (end - begin) / info.size);
    if (e.dtype === "BOOL") {
      const d = data as Uint8Array;
      for (let i = 0; i < d.length; i++)
        if (d[i]! > 1)
          throw new SafetensorsError(`${source}: tensor "${name}": BOOL value ${d[i]} at index ${i} is not 0 or 1`);
    }
    tensors.set(name, { dtype: e.dtype, shape: e.shape, data } as SafeTensor);
  }
  return { tensors, metadata };
}

/** IEEE binary16 bit pattern → number. */
export function f16ToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1,
    e = (h >> 10) & 0x1f,
    m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m === 0 ? s * Infinity : NaN;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** bfloat16 bit pattern → number (the upper half of a float32). */
export function bf16ToNumber(h: number): number {
  const f = new Float32Array(1);
  new Uint32Array(f.buffer)[0] = (h & 0xffff) << 16;
  return f[0]!;
}

/** Any numeric tensor's values as a Float32Array (F16/BF16 decoded; 64-bit integers via Number). */
export function tensorToFloat32(t: SafeTensor): Float32Array {
  const out = new Float32Array(t.data.length);
  if (t.dtype === "F16" || t.dtype === "BF16") {
    const conv = t.dtype === "F16" ? f16ToNumber : bf16ToNumber;
    const d = t.data as Uint16Array;
    for (let i = 0; i < d.length; i++) out[i] = conv(d[i]!);
  } else if (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) {
    for (let i = 0; i < t.data.length; i++) out[i] = Number(t.data[i]!);
  } else {
    out.set(t.data as ArrayLike<number>);
  }
  return out;
}
