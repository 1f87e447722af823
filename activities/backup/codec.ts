// File encoding of a backup: gzip JSON lines per kind (whole, or written and read as a stream for the
// TaskRuns), sha256 checksums, and the manifest's HMAC over a canonical JSON form (sorted keys), so that
// re-serialising the manifest never changes its MAC.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, createGzip, gunzipSync, gzipSync } from 'node:zlib';

export function encodeJsonLines(objects: readonly unknown[]): Buffer {
  const text = objects.map((o) => JSON.stringify(o)).join('\n');
  return gzipSync(Buffer.from(objects.length ? `${text}\n` : '', 'utf8'), { level: 6 });
}

export function decodeJsonLines<T>(data: Uint8Array): T[] {
  return gunzipSync(data)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as T);
}

/** A JSON-lines file as encodeJsonLines makes it, written as objects come: the file's size and sha256 at the end. */
export class JsonLinesWriter {
  count = 0;
  private size = 0;
  private readonly hash = createHash('sha256');
  private readonly gzip = createGzip({ level: 6 });
  private readonly done: Promise<void>;

  constructor(path: string) {
    const measure = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.hash.update(chunk);
        this.size += chunk.length;
        callback(null, chunk);
      },
    });
    this.done = pipeline(this.gzip, measure, createWriteStream(path, { mode: 0o600 }));
    this.done.catch(() => undefined); // awaited by write (backpressure) and close
  }

  /** One page of objects; waits while gzip and the file are behind, so pages never pile up in memory. */
  async write(objects: Iterable<unknown>): Promise<void> {
    let text = '';
    for (const o of objects) {
      text += `${JSON.stringify(o)}\n`;
      this.count++;
    }
    if (text && !this.gzip.write(text)) await Promise.race([once(this.gzip, 'drain'), this.done]);
  }

  async close(): Promise<{ size: number; sha256: string; count: number }> {
    this.gzip.end();
    await this.done;
    return { size: this.size, sha256: this.hash.digest('hex'), count: this.count };
  }
}

/** The objects of a JSON-lines file read as a stream of its (gzip) bytes, one line at a time. */
export async function* decodeJsonLinesStream<T>(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<T> {
  const gunzip = createGunzip();
  const fed = pipeline(Readable.from(chunks), gunzip);
  fed.catch(() => undefined); // its failure surfaces in the reads below
  const text = new StringDecoder('utf8');
  let rest = '';
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      const lines = (rest + text.write(chunk)).split('\n');
      rest = lines.pop()!;
      for (const line of lines) if (line.length) yield JSON.parse(line) as T;
    }
    rest += text.end();
    if (rest.length) yield JSON.parse(rest) as T;
    await fed;
  } finally {
    gunzip.destroy();
  }
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** JSON with object keys sorted at every level: the byte string the HMAC covers. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function hmacSha256(key: string, value: unknown): string {
  return createHmac('sha256', key).update(canonicalJson(value)).digest('hex');
}

/** Constant-time comparison of two hex MACs. */
export function macEquals(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
