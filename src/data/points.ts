/**
 * Point sets from and to text files: CSV (optional header; comma- or whitespace-separated) and
 * JSON (an array of rows, or an object {"points": rows}). Parsing and formatting are pure
 * functions over strings (usable in a browser); the file wrappers at the end load `node:fs`
 * lazily, so importing this module never touches the file system.
 *
 * Layout: n points of dimension `dim` as one row-major Float64Array of length n·dim.
 */

/** n points of dimension dim, row-major (data.length === n·dim). */
export interface Points {
  n: number;
  dim: number;
  data: Float64Array;
}

export type PointsFormat = "csv" | "json";

/** Parsing options. `missing`: unknown coordinates are allowed and read as NaN — JSON null, or in CSV an empty field, "null", "NA", "?" or "nan" (for imputation). */
export interface ParseOptions {
  missing?: boolean;
}

const MISSING = /^(|null|na|\?|[+-]?nan)$/i;

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Parses one numeric field strictly; returns an error description or the number. */
function parseField(tok: string): number | string {
  if (DECIMAL.test(tok)) {
    const v = Number(tok);
    return Number.isFinite(v) ? v : `"${tok}" overflows to ${v}`;
  }
  const lower = tok.toLowerCase();
  if (lower === "nan" || lower === "+nan" || lower === "-nan") return `NaN ("${tok}"); remove or impute missing values`;
  if (/^[+-]?(inf|infinity)$/.test(lower)) return `an infinite value ("${tok}"); every coordinate must be finite`;
  if (tok === "") return "an empty field; check for doubled or trailing commas";
  return `"${tok}" is not a number`;
}

function splitLine(line: string): string[] {
  return line.includes(",") ? line.split(",").map((f) => f.trim()) : line.trim().split(/\s+/);
}

/**
 * Parses CSV text into points. Rules: one point per line; fields separated by commas, or by
 * spaces/tabs when the line has no comma; blank lines and lines starting with `#` are skipped;
 * the first row is a header (and skipped) when none of its fields is a number. Every data row
 * must have the same number of fields, each a finite decimal number.
 * Errors name `source`, the line number and the fix.
 */
export function parsePointsCsv(text: string, source = "<csv>", opts: ParseOptions = {}): Points {
  const lines = text.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/);
  const values: number[] = [];
  let dim = -1,
    firstLine = 0,
    n = 0,
    sawHeader = false;
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fields = splitLine(line);
    const parsed = fields.map((f) => (opts.missing && MISSING.test(f) ? NaN : parseField(f)));
    if (
      dim < 0 &&
      !sawHeader &&
      parsed.every((p) => typeof p === "string") &&
      fields.every((f) => f !== "" && !(opts.missing && MISSING.test(f)))
    ) {
      sawHeader = true; // a header row: column names only
      continue;
    }
    const bad = parsed.findIndex((p) => typeof p === "string");
    if (bad >= 0) {
      throw new Error(
        `${source}: line ${li + 1}, column ${bad + 1}: ${parsed[bad] as string}; each field must be a decimal number such as -1.25 or 3e-2`,
      );
    }
    if (dim < 0) {
      dim = fields.length;
      firstLine = li + 1;
    } else if (fields.length !== dim) {
      throw new Error(
        `${source}: line ${li + 1} has ${fields.length} values but line ${firstLine} (the first data row) has ${dim}; every row needs the same number of columns`,
      );
    }
    for (const p of parsed) values.push(p as number);
    n++;
  }
  if (n === 0) {
    throw new Error(
      `${source}: no data rows${sawHeader ? " after the header" : ""}; expected one point per line such as "0.5,-1.2"`,
    );
  }
  return { n, dim, data: Float64Array.from(values) };
}

/**
 * Parses JSON text into points: either an array of equal-length arrays of finite numbers
 * (`[[x, y], …]`) or an object with such an array under "points" (other keys are ignored,
 * except that "n"/"dim", when present, must match). Errors name `source`, the index path
 * (e.g. `points[3][1]`) and the fix.
 */
export function parsePointsJson(text: string, source = "<json>", opts: ParseOptions = {}): Points {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(
      `${source}: invalid JSON (${(e as Error).message}); expected [[x, y], …] or {"points": [[x, y], …]}`,
    );
  }
  let rows: unknown = doc;
  let path = "";
  let declared: { n?: unknown; dim?: unknown } = {};
  if (doc !== null && typeof doc === "object" && !Array.isArray(doc)) {
    if (!("points" in doc)) {
      throw new Error(
        `${source}: the JSON object has no "points" key (keys: ${Object.keys(doc).join(", ") || "none"}); expected {"points": [[x, y], …]} or a plain array of rows`,
      );
    }
    rows = (doc as { points: unknown }).points;
    declared = doc as { n?: unknown; dim?: unknown };
    path = "points";
  }
  const at = (i: number, j?: number) => `${path}[${i}]${j === undefined ? "" : `[${j}]`}`;
  if (!Array.isArray(rows)) {
    throw new Error(
      `${source}: ${path || "the document"} is ${rows === null ? "null" : typeof rows}, not an array; expected an array of rows such as [[0.5, -1.2], [1, 2]]`,
    );
  }
  if (rows.length === 0) throw new Error(`${source}: ${path || "the array"} is empty; expected at least one point`);
  let dim = -1;
  const values: number[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row: unknown = rows[i];
    if (!Array.isArray(row)) {
      const hint =
        typeof row === "number"
          ? "; wrap each point in its own array, e.g. [[x, y], …] (a flat list of numbers has no dimension)"
          : "; each point must be an array of numbers";
      throw new Error(`${source}: ${at(i)} is ${row === null ? "null" : typeof row}, not an array${hint}`);
    }
    if (row.length === 0)
      throw new Error(`${source}: ${at(i)} is an empty row; each point needs at least one coordinate`);
    if (dim < 0) dim = row.length;
    else if (row.length !== dim) {
      throw new Error(
        `${source}: ${at(i)} has ${row.length} values but ${at(0)} has ${dim}; every row needs the same number of values`,
      );
    }
    for (let j = 0; j < row.length; j++) {
      const v: unknown = row[j];
      if (typeof v === "number" && Number.isFinite(v)) {
        values.push(v);
        continue;
      }
      if (v === null && opts.missing) {
        values.push(NaN);
        continue;
      }
      const why =
        v === null
          ? "null (JSON writes NaN and Infinity as null); every coordinate must be a finite number"
          : typeof v === "string"
            ? `the string ${JSON.stringify(v)}; write numbers without quotes`
            : `${Array.isArray(v) ? "an array" : typeof v}, not a number`;
      throw new Error(`${source}: ${at(i, j)} is ${why}`);
    }
  }
  const n = rows.length;
  if (declared.n !== undefined && declared.n !== n)
    throw new Error(`${source}: "n" is ${JSON.stringify(declared.n)} but "points" has ${n} rows; fix or remove "n"`);
  if (declared.dim !== undefined && declared.dim !== dim)
    throw new Error(
      `${source}: "dim" is ${JSON.stringify(declared.dim)} but the rows have ${dim} values; fix or remove "dim"`,
    );
  return { n, dim, data: Float64Array.from(values) };
}

/** The format implied by a file name: .csv/.tsv/.txt → csv, .json → json; otherwise an error. */
export function formatFromPath(path: string): PointsFormat {
  const m = /\.([A-Za-z0-9]+)$/.exec(path);
  const ext = m ? m[1]!.toLowerCase() : "";
  if (ext === "csv" || ext === "tsv" || ext === "txt") return "csv";
  if (ext === "json") return "json";
  throw new Error(
    `${path}: cannot tell the format from the extension "${ext ? `.${ext}` : "(none)"}"; use .csv, .tsv, .txt or .json`,
  );
}

/** Parses text in the given format (see {@link parsePointsCsv}, {@link parsePointsJson}). */
export function parsePoints(text: string, format: PointsFormat, source?: string, opts: ParseOptions = {}): Points {
  return format === "csv" ? parsePointsCsv(text, source, opts) : parsePointsJson(text, source, opts);
}

function checkPoints(p: Points): void {
  if (
    !Number.isSafeInteger(p.n) ||
    !Number.isSafeInteger(p.dim) ||
    p.n < 0 ||
    p.dim < 1 ||
    p.data.length !== p.n * p.dim
  ) {
    throw new Error(
      `points: data has length ${p.data.length} but n·dim = ${p.n}·${p.dim}; pass a row-major n×dim array`,
    );
  }
  for (let i = 0; i < p.data.length; i++) {
    if (!Number.isFinite(p.data[i]!)) {
      throw new Error(
        `points: row ${Math.floor(i / p.dim)}, column ${i % p.dim} is ${p.data[i]}; only finite values can be written`,
      );
    }
  }
}

/** Default CSV column names: x, y for 2-D, otherwise x0, x1, …. */
function defaultHeader(dim: number): string[] {
  return dim === 2 ? ["x", "y"] : Array.from({ length: dim }, (_, i) => `x${i}`);
}

/**
 * CSV text: a header row (column names; `header: false` omits it, an array overrides it) and
 * one comma-separated row per point. Numbers use the shortest exact representation, so
 * parsing the text gives back the identical Float64 values.
 */
export function pointsToCsv(p: Points, opts: { header?: boolean | string[] } = {}): string {
  checkPoints(p);
  const lines: string[] = [];
  const h = opts.header ?? true;
  if (h !== false) {
    const names = h === true ? defaultHeader(p.dim) : h;
    if (names.length !== p.dim)
      throw new Error(`pointsToCsv: header has ${names.length} names but the points have dimension ${p.dim}`);
    for (const name of names) {
      if (/[,\s]/.test(name) || name === "" || typeof parseField(name) === "number") {
        throw new Error(
          `pointsToCsv: header name ${JSON.stringify(name)} must be non-empty, non-numeric and free of commas and spaces`,
        );
      }
    }
    lines.push(names.join(","));
  }
  for (let i = 0; i < p.n; i++) {
    const row: string[] = [];
    for (let j = 0; j < p.dim; j++) row.push(String(p.data[i * p.dim + j]!));
    lines.push(row.join(","));
  }
  return `${lines.join("\n")}\n`;
}

/** JSON text: an array of points (arrays of numbers), one point per line; exact round trip. */
export function pointsToJson(p: Points): string {
  checkPoints(p);
  const rows: string[] = [];
  for (let i = 0; i < p.n; i++) {
    const row: string[] = [];
    for (let j = 0; j < p.dim; j++) row.push(String(p.data[i * p.dim + j]!));
    rows.push(`  [${row.join(", ")}]`);
  }
  return `[\n${rows.join(",\n")}\n]\n`;
}

/** Formats points in the given format. */
export function formatPoints(p: Points, format: PointsFormat): string {
  return format === "csv" ? pointsToCsv(p) : pointsToJson(p);
}

/** Wraps a row-major array as Points (checks that its length is a multiple of dim). */
export function asPoints(data: Float64Array, dim: number): Points {
  if (!Number.isSafeInteger(dim) || dim < 1 || data.length % dim !== 0) {
    throw new Error(`asPoints: array of length ${data.length} is not a whole number of rows of dimension ${dim}`);
  }
  return { n: data.length / dim, dim, data };
}

// ---------------------------------------------------------------------------------------------
// File-system wrappers (Node only; `node:fs` is imported on first use).

/** Atomic file writes live in src/io/files.ts (temporary file, fsync, rename). */
import { writeFileAtomic } from "../io/files.ts";
export { writeFileAtomic };

/** Reads a .csv/.tsv/.txt/.json file of points (format from the extension unless given). */
export async function readPointsFile(path: string, format?: PointsFormat, opts: ParseOptions = {}): Promise<Points> {
  const fmt = format ?? formatFromPath(path);
  const fs = await import("node:fs/promises");
  let text: string;
  try {
    text = await fs.readFile(path, "utf8");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(
      err.code === "ENOENT" ? `${path}: no such file; check the path` : `cannot read ${path}: ${err.message}`,
    );
  }
  return parsePoints(text, fmt, path, opts);
}

/** Writes points to a .csv or .json file atomically (format from the extension unless given). */
export async function writePointsFile(path: string, p: Points, format?: PointsFormat): Promise<void> {
  const fmt = format ?? formatFromPath(path);
  await writeFileAtomic(path, formatPoints(p, fmt));
}
