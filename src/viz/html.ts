/**
 * A self-contained HTML report: a title, optional summary metrics, and sections with text,
 * images (by relative path, or embedded as base64 data URIs) with captions, and metric tables.
 * Every piece of caller text is HTML-escaped; image paths are URL-encoded per segment.
 */

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&#39;",
  );
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard base64 (RFC 4648, with padding) of bytes; works without Buffer. */
export function base64(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64[v >>> 18]! + B64[(v >>> 12) & 63]! + B64[(v >>> 6) & 63]! + B64[v & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const v = bytes[i]! << 16;
    out += `${B64[v >>> 18]}${B64[(v >>> 12) & 63]}==`;
  } else if (rest === 2) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += `${B64[v >>> 18]}${B64[(v >>> 12) & 63]}${B64[(v >>> 6) & 63]}=`;
  }
  return out;
}

/** Guesses an image MIME type from the first bytes (PNG, GIF, JPEG, SVG). */
export function sniffImageMime(bytes: Uint8Array): string {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return "image/png";
  if (bytes[0] === 0x47 && bytes[1] === 0x49 && bytes[2] === 0x46) return "image/gif";
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return "image/jpeg";
  if (bytes[0] === 0x3c) return "image/svg+xml";
  throw new Error('htmlSummary: cannot tell the image type from its bytes; pass mime (e.g. "image/png")');
}

/** data: URI of image bytes. */
export function dataUri(bytes: Uint8Array, mime = sniffImageMime(bytes)): string {
  return `data:${mime};base64,${base64(bytes)}`;
}

/** An image in the report: a relative `path`, or `data` bytes embedded as a data URI. */
export interface HtmlImage {
  path?: string;
  data?: Uint8Array;
  /** MIME type of `data` (default: sniffed from the bytes). */
  mime?: string;
  caption?: string;
  /** Alt text (default: the caption). */
  alt?: string;
  /** Display width in CSS pixels (default: natural size, at most the column). */
  width?: number;
}

/** Metrics as an object (insertion order) or a list of [name, value] pairs. */
export type Metrics = Record<string, number | string> | Array<[string, number | string]>;

export interface HtmlSection {
  heading: string;
  /** Paragraphs of plain text (escaped; blank lines separate paragraphs). */
  text?: string;
  images?: HtmlImage[];
  metrics?: Metrics;
}

export interface HtmlSummaryOptions {
  title: string;
  /** A line under the title (plain text). */
  subtitle?: string;
  /** A metrics table right under the title. */
  metrics?: Metrics;
  sections?: HtmlSection[];
}

/** Formats a metric: integers as is, other numbers with up to 5 significant digits. */
export function formatMetric(v: number | string): string {
  if (typeof v === "string") return v;
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(4).replace(/\.?0+e/, "e");
  return String(Number(v.toPrecision(5)));
}

/** A relative (or http/https/data:image) URL for an image path; other schemes are refused. */
function imageUrl(path: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) {
    if (/^https?:/i.test(path) || /^data:image\//i.test(path)) return path;
    throw new Error(
      `htmlSummary: image path ${JSON.stringify(path)} has an unsupported scheme; use a relative path, http(s) URL or embed the bytes`,
    );
  }
  return path
    .replace(/\\/g, "/")
    .split("/")
    .map((seg) => encodeURIComponent(seg))
    .join("/");
}

function metricsTable(m: Metrics): string {
  const rows = Array.isArray(m) ? m : Object.entries(m);
  if (rows.length === 0) return "";
  const body = rows
    .map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${escapeHtml(formatMetric(v))}</td></tr>`)
    .join("\n");
  return `<table class="metrics">\n${body}\n</table>`;
}

function figure(img: HtmlImage): string {
  let src: string;
  if (img.data) src = dataUri(img.data, img.mime);
  else if (img.path) src = imageUrl(img.path);
  else throw new Error(`htmlSummary: image ${JSON.stringify(img.caption ?? "")} has neither path nor data`);
  const alt = img.alt ?? img.caption ?? "";
  const w = img.width !== undefined ? ` width="${Math.round(img.width)}"` : "";
  const cap = img.caption ? `\n<figcaption>${escapeHtml(img.caption)}</figcaption>` : "";
  return `<figure>\n<img src="${escapeHtml(src)}" alt="${escapeHtml(alt)}"${w}>${cap}\n</figure>`;
}

function paragraphs(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p)
    .map((p) => `<p>${escapeHtml(p)}</p>`)
    .join("\n");
}

/** The report as one HTML document (UTF-8, no scripts, no external resources besides images). */
export function htmlSummary(opts: HtmlSummaryOptions): string {
  const parts: string[] = [];
  parts.push(`<h1>${escapeHtml(opts.title)}</h1>`);
  if (opts.subtitle) parts.push(`<p class="subtitle">${escapeHtml(opts.subtitle)}</p>`);
  if (opts.metrics) parts.push(metricsTable(opts.metrics));
  for (const s of opts.sections ?? []) {
    const inner: string[] = [`<h2>${escapeHtml(s.heading)}</h2>`];
    if (s.text) inner.push(paragraphs(s.text));
    if (s.metrics) inner.push(metricsTable(s.metrics));
    if (s.images && s.images.length > 0)
      inner.push(`<div class="figures">\n${s.images.map(figure).join("\n")}\n</div>`);
    parts.push(`<section>\n${inner.join("\n")}\n</section>`);
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
h1 { margin-bottom: 0.2rem; } .subtitle { color: #666; margin-top: 0; }
section { margin-top: 2rem; border-top: 1px solid #ddd; }
.figures { display: flex; flex-wrap: wrap; gap: 1.2rem; }
figure { margin: 0.5rem 0; } figure img { max-width: 100%; image-rendering: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9rem; color: #555; max-width: 560px; }
table.metrics { border-collapse: collapse; margin: 0.8rem 0; }
table.metrics th, table.metrics td { border: 1px solid #ddd; padding: 0.25rem 0.7rem; text-align: left; }
table.metrics th { background: #f6f6f8; font-weight: 600; } table.metrics td { font-variant-numeric: tabular-nums; }
</style>
</head>
<body>
${parts.join("\n")}
</body>
</html>
`;
}
