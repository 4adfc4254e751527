// examples/http-journal: the server answers a POST only once its body is durable. Start it on an
// ephemeral port, POST a few bodies, stop it, and find every acknowledged body in the segments
// (wal mode) or the journal file (fsync mode).
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

import { recoverSegmentsSync } from '../lib';

const SERVER = path.resolve(__dirname, '..', 'examples', 'http-journal', 'server.js');
const { readFsyncJournal } = require(SERVER) as { readFsyncJournal: (file: string) => Buffer[] };

interface Started {
  child: ChildProcess;
  port: number;
  recovered: number;
}

function start(mode: 'wal' | 'fsync', db: string): Promise<Started> {
  const child = spawn(process.execPath, [SERVER, '--mode', mode, '--db', db, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', (line) => {
      const info = JSON.parse(line);
      resolve({ child, port: info.listening.port, recovered: info.recovered });
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

async function post(port: number, body: Buffer): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const bodies = Array.from({ length: 8 }, (_, i) => Buffer.from(`entry ${i}: ${'x'.repeat(i * 100)}`));

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pwal-journal-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test('wal mode: every acknowledged body is in the segments after close, and a restart continues the numbering', async () => {
  const db = path.join(dir, 'journal.db');
  const s = await start('wal', db);
  expect(s.recovered).toBe(0);
  let acks;
  try {
    // Concurrent POSTs (they may share an epoch), then one more on its own.
    acks = await Promise.all(bodies.slice(0, 7).map((b) => post(s.port, b)));
    acks.push(await post(s.port, bodies[7]));
    for (const a of acks) {
      expect(a.status).toBe(201);
      expect(a.json.durable).toBe(true);
      expect(typeof a.json.epoch).toBe('number');
    }
    expect((await post(s.port, Buffer.alloc(0))).status).toBe(400);
  } finally {
    expect(await stop(s.child)).toBe(0);
  }
  const { result, records } = recoverSegmentsSync(db);
  expect(result.tornTail).toBe(false);
  expect(records).toHaveLength(bodies.length);
  const byId = new Map(records.map((r) => [r.txnToken.id.toString(), r.afterImage.toString()]));
  for (let i = 0; i < bodies.length; i++) expect(byId.get(String(acks[i].json.id))).toBe(bodies[i].toString());
  const ids = acks.map((a) => Number(a.json.id)).sort((a, b) => a - b);
  expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);

  const again = await start('wal', db);
  try {
    expect(again.recovered).toBe(bodies.length);
    const next = await post(again.port, Buffer.from('after restart'));
    expect(next.json.id).toBe('9');
  } finally {
    expect(await stop(again.child)).toBe(0);
  }
  const after = recoverSegmentsSync(db).records;
  expect(after).toHaveLength(bodies.length + 1);
  expect(after[after.length - 1].afterImage.toString()).toBe('after restart');
});

test('fsync mode: every acknowledged body is in the journal file, in order', async () => {
  const db = path.join(dir, 'journal.db');
  const s = await start('fsync', db);
  try {
    for (const b of bodies) expect((await post(s.port, b)).status).toBe(201);
    expect((await post(s.port, Buffer.alloc(70000))).status).toBe(413);
  } finally {
    expect(await stop(s.child)).toBe(0);
  }
  expect(readFsyncJournal(`${db}.journal`).map((b) => b.toString())).toEqual(bodies.map((b) => b.toString()));
});
