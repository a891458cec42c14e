/**
 * The IDX file format of MNIST and Fashion-MNIST (LeCun et al.), plain or gzipped (detected by
 * the gzip magic bytes 1f 8b, decompressed with node:zlib):
 *
 * ```
 * bytes 0–1   0x00 0x00
 * byte  2     element type: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
 * byte  3     number of dimensions d
 * 4·d bytes   each dimension as a big-endian unsigned 32-bit integer
 * rest        the elements, row-major, big-endian
 * ```
 *
 * Node only (zlib, fs).
 */
import { readFile } from "node:fs/promises";
import { gunzipSync, gzipSync } from "node:zlib";
import { writeFileAtomic } from "../io/files.ts";

export type IdxDtype = "u8" | "i8" | "i16" | "i32" | "f32" | "f64";

export interface IdxArrayOf {
  u8: Uint8Array;
  i8: Int8Array;
  i16: Int16Array;
  i32: Int32Array;
  f32: Float32Array;
  f64: Float64Array;
}

/** A decoded IDX tensor. */
export interface IdxArray<D extends IdxDtype = IdxDtype> {
  dtype: D;
  shape: number[];
  data: IdxArrayOf[D];
}

const CODES: Record<IdxDtype, { code: number; size: number }> = {
  u8: { code: 0x08, size: 1 },
  i8: { code: 0x09, size: 1 },
  i16: { code: 0x0b, size: 2 },
  i32: { code: 0x0c, size: 4 },
  f32: { code: 0x0d, size: 4 },
  f64: { code: 0x0e, size: 8 },
};

const BY_CODE = new Map(Object.entries(CODES).map(([k, v]) => [v.code, k as IdxDtype]));

/** Thrown for malformed IDX data; the message names the source. */
export class IdxError extends Error {
  override name = "IdxError";
}

/** True if the bytes start with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Decode IDX bytes (gzipped or not). `source` (e.g. the file path) is named in every error:
 * bad magic, unknown type code, truncated header or data, trailing bytes, corrupt gzip.
 */
export function decodeIdx(input: Uint8Array, source = "IDX data"): IdxArray {
  const fail = (msg: string): never => {
    throw new IdxError(`${source}: ${msg}`);
  };
  let bytes = input;
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      return fail(`corrupt or truncated gzip data (${(e as Error).message})`);
    }
  }
  if (bytes.length < 4) fail(`only ${bytes.length} bytes: truncated (an IDX file starts with a 4-byte magic number)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    fail(
      `bad magic number ${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ")}: not an IDX file (expected 00 00 <type> <ndim>)`,
    );
  }
  const dtype = BY_CODE.get(bytes[2]!);
  if (dtype === undefined)
    return fail(
      `unknown IDX element type 0x${bytes[2]!.toString(16).padStart(2, "0")} (expected 08, 09, 0b, 0c, 0d or 0e)`,
    );
  const ndim = bytes[3]!;
  const headerLen = 4 + 4 * ndim;
  if (bytes.length < headerLen)
    fail(`truncated header: ${ndim} dimensions need ${headerLen} bytes, file has ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < ndim; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const size = CODES[dtype].size;
  const count = shape.reduce((a, b) => a * b, 1);
  const need = headerLen + count * size;
  if (bytes.length < need) {
    fail(
      `truncated: shape [${shape.join(", ")}] of ${dtype} needs ${need} bytes, file has ${bytes.length} (${Math.floor((bytes.length - headerLen) / size)} of ${count} elements)`,
    );
  }
  if (bytes.length > need)
    fail(
      `${bytes.length - need} unexpected bytes after the data of shape [${shape.join(", ")}] (corrupt file or wrong header)`,
    );

  let data: IdxArray["data"];
  switch (dtype) {
    // Copies (a Node Buffer's slice() would be a view into the file's buffer).
    case "u8":
      data = new Uint8Array(count);
      data.set(bytes.subarray(headerLen, need));
      break;
    case "i8": {
      const d = new Int8Array(count);
      d.set(new Int8Array(bytes.buffer, bytes.byteOffset + headerLen, count));
      data = d;
      break;
    }
    case "i16": {
      const d = new Int16Array(count);
      for (let i = 0; i < count; i++) d[i] = view.getInt16(headerLen + 2 * i, false);
      data = d;
      break;
    }
    case "i32": {
      const d = new Int32Array(count);
      for (let i = 0; i < count; i++) d[i] = view.getInt32(headerLen + 4 * i, false);
      data = d;
      break;
    }
    case "f32": {
      const d = new Float32Array(count);
      for (let i = 0; i < count; i++) d[i] = view.getFloat32(headerLen + 4 * i, false);
      data = d;
      break;
    }
    case "f64": {
      const d = new Float64Array(count);
      for (let i = 0; i < count; i++) d[i] = view.getFloat64(headerLen + 8 * i, false);
      data = d;
      break;
    }
  }
  return { dtype, shape, data } as IdxArray;
}

/** Encode an IDX tensor (big-endian), optionally gzipped. */
export function encodeIdx(arr: IdxArray, opts: { gzip?: boolean } = {}): Uint8Array {
  const { code, size } = CODES[arr.dtype];
  if (arr.shape.length > 255) throw new IdxError(`IDX supports at most 255 dimensions, got ${arr.shape.length}`);
  for (const d of arr.shape)
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) throw new IdxError(`invalid IDX dimension ${d}`);
  const count = arr.shape.reduce((a, b) => a * b, 1);
  if (arr.data.length !== count)
    throw new IdxError(`shape [${arr.shape.join(", ")}] has ${count} elements but data has ${arr.data.length}`);
  const headerLen = 4 + 4 * arr.shape.length;
  const out = new Uint8Array(headerLen + count * size);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = arr.shape.length;
  arr.shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const d = arr.data;
  for (let i = 0; i < count; i++) {
    const o = headerLen + i * size,
      v = d[i]!;
    switch (arr.dtype) {
      case "u8":
        view.setUint8(o, v);
        break;
      case "i8":
        view.setInt8(o, v);
        break;
      case "i16":
        view.setInt16(o, v, false);
        break;
      case "i32":
        view.setInt32(o, v, false);
        break;
      case "f32":
        view.setFloat32(o, v, false);
        break;
      case "f64":
        view.setFloat64(o, v, false);
        break;
    }
  }
  return opts.gzip ? new Uint8Array(gzipSync(out)) : out;
}

/** Read an IDX file (gzipped or not); errors name the file. */
export async function readIdxFile(path: string): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new IdxError(
      err.code === "ENOENT" ? `IDX file not found: ${path}` : `could not read IDX file ${path}: ${err.message}`,
      { cause: e },
    );
  }
  return decodeIdx(bytes, path);
}

/** Write an IDX file atomically (gzipped when `gzip` is set). */
export async function writeIdxFile(path: string, arr: IdxArray, opts: { gzip?: boolean } = {}): Promise<void> {
  await writeFileAtomic(path, encodeIdx(arr, opts));
}
