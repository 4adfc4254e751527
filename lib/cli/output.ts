// Output helpers of `pwal`: record lines (text and JSON), u64 as exact decimal strings, and a
// stdout writer that respects back-pressure and a closed pipe (`pwal dump db | head`).
import { once } from 'node:events';

import type { WalRecord } from '../segment-types';

/** A record as one JSON object: u64 fields as decimal strings, images as base64 (or omitted). */
export function recordJson(r: WalRecord, images: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = {
    epoch: r.epoch.toString(),
    txnId: r.txnToken.id.toString(),
    txnEpoch: r.txnToken.epoch,
    pageId: r.pageId,
    beginSeq: r.beginSeq.toString(),
    endSeq: r.endSeq === null ? null : r.endSeq.toString(),
    beforeLength: r.beforeImage.length,
    afterLength: r.afterImage.length,
  };
  if (images) {
    o.beforeImage = r.beforeImage.toString('base64');
    o.afterImage = r.afterImage.toString('base64');
  }
  return o;
}

const PREVIEW = 16;

function preview(b: Buffer): string {
  if (b.length === 0) return '';
  const hex = b.subarray(0, PREVIEW).toString('hex');
  return b.length > PREVIEW ? `${hex}...` : hex;
}

/** A record as one text line. */
export function recordText(r: WalRecord, images: boolean): string {
  const end = r.endSeq === null ? 'none(aborted)' : r.endSeq.toString();
  let line =
    `epoch=${r.epoch} txn=${r.txnToken.id}/${r.txnToken.epoch} page=${r.pageId} ` +
    `begin=${r.beginSeq} end=${end} before=${r.beforeImage.length}B after=${r.afterImage.length}B`;
  if (images && r.afterImage.length) line += ` after[0..${Math.min(PREVIEW, r.afterImage.length)}]=${preview(r.afterImage)}`;
  return line;
}

/** JSON.stringify with bigints as decimal strings. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * Buffered line writer for stdout. `write` resolves at once unless the stream asks to wait;
 * after EPIPE (the reader went away) every write is a no-op and `closed` is true.
 */
export class LineWriter {
  #chunks: string[] = [];
  #size = 0;
  closed = false;
  constructor(private readonly stream: NodeJS.WriteStream = process.stdout) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') this.closed = true;
      else throw e;
    });
  }
  async line(text: string): Promise<void> {
    if (this.closed) return;
    this.#chunks.push(text, '\n');
    this.#size += text.length + 1;
    if (this.#size >= 64 * 1024) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.closed || this.#chunks.length === 0) return;
    const data = this.#chunks.join('');
    this.#chunks = [];
    this.#size = 0;
    if (!this.stream.write(data)) {
      try {
        await Promise.race([once(this.stream, 'drain'), once(this.stream, 'close')]);
      } catch (e) {
        // `once` rejects when the stream emits 'error' while we wait: the reader went away.
        if ((e as NodeJS.ErrnoException).code === 'EPIPE') this.closed = true;
        else throw e;
      }
    }
  }
}

/** Pads columns to equal widths. */
export function columns(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((row) => row.map((c, i) => (i + 1 === row.length ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
}
