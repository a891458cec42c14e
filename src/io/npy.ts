/**
 * NumPy .npy arrays (format version 1.0; https://numpy.org/devdocs/reference/generated/numpy.lib.format.html):
 * the magic "\x93NUMPY", version 1.0, a little-endian uint16 header length, a Python-literal dict
 * {'descr': '<f4', 'fortran_order': False, 'shape': (…), } padded with spaces and a newline so the data
 * starts at a multiple of 64 bytes, then the C-order data. Platform-neutral (bytes in, bytes out).
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** An array read from .npy: C-order data and its shape. */
export interface NpyArray {
  shape: number[];
  data: Float32Array | Float64Array;
}

/** Encodes a float32 array of the given shape as .npy bytes (values converted to float32). */
export function encodeNpy(data: ArrayLike<number>, shape: readonly number[]): Uint8Array {
  const size = shape.reduce((a, b) => a * b, 1);
  if (shape.some((d) => !Number.isInteger(d) || d < 0) || size !== data.length)
    throw new Error(`npy: shape [${shape.join(", ")}] does not hold ${data.length} values`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const pad = 64 - ((MAGIC.length + 2 + 2 + header.length + 1) % 64);
  header += `${" ".repeat(pad % 64)}\n`;
  const pre = MAGIC.length + 4,
    out = new Uint8Array(pre + header.length + 4 * size);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[pre + i] = header.charCodeAt(i);
  const view = new DataView(out.buffer, pre + header.length);
  for (let i = 0; i < size; i++) view.setFloat32(4 * i, data[i]!, true);
  return out;
}

/** Decodes .npy bytes holding little-endian float32 or float64 in C order (versions 1.0–3.0). */
export function decodeNpy(bytes: Uint8Array, source = "<npy>"): NpyArray {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m))
    throw new Error(`${source} is not a NumPy .npy file (bad magic); save arrays with numpy.save`);
  const major = bytes[6]!,
    dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [len, start] = major === 1 ? [dv.getUint16(8, true), 10] : [dv.getUint32(8, true), 12];
  const header = new TextDecoder("latin1").decode(bytes.subarray(start, start + len));
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined)
    throw new Error(`${source}: unreadable .npy header ${JSON.stringify(header.trim())}`);
  if (fortran === "True")
    throw new Error(`${source}: Fortran-order arrays are not supported; save with numpy.ascontiguousarray`);
  if (descr !== "<f4" && descr !== "<f8")
    throw new Error(`${source}: dtype ${descr} is not supported; save float32 or float64 (arr.astype("float32"))`);
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const size = shape.reduce((a, b) => a * b, 1),
    w = descr === "<f4" ? 4 : 8,
    off = start + len;
  if (bytes.length - off < size * w)
    throw new Error(`${source}: truncated (${bytes.length - off} data bytes for shape [${shape.join(", ")}])`);
  const data = w === 4 ? new Float32Array(size) : new Float64Array(size);
  for (let i = 0; i < size; i++)
    data[i] = w === 4 ? dv.getFloat32(off + 4 * i, true) : dv.getFloat64(off + 8 * i, true);
  return { shape, data };
}
