// The `pwal` command-line tool, run as the real binary (node dist/cli/pwal.js) against real
// segment files made with writeSegmentSync: a clean log, a corrupted byte, a missing middle
// segment (certificate gap), a torn tail, and bad input.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { listSegmentsSync, segmentPath, writeSegmentSync, type WalRecordInput } from '../lib';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'dist', 'cli', 'pwal.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function pwal(...args: string[]): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: ROOT, timeout: 30000 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const U64_MAX = (1n << 64n) - 1n;
const AFTER = 32; // after-image bytes of every record
// v2 record framing: u32 length + body (49 bytes + images with an end seq) + u32 chained CRC.
const RECORD_BYTES = 4 + 49 + AFTER + 4;
const HEADER = 24;

function image(epoch: number, i: number): Buffer {
  return Buffer.alloc(AFTER, (epoch * 16 + i) & 0xff);
}

/** Epoch `epoch` with `n` records; u64 fields near 2^64 so exactness is visible. */
function records(epoch: number, n: number): WalRecordInput[] {
  const out: WalRecordInput[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      txnToken: { id: U64_MAX - BigInt(epoch * 100 + i), epoch: 7 },
      epoch,
      pageId: i + 1,
      beginSeq: (1n << 63n) + BigInt(epoch * 100 + i),
      endSeq: (1n << 63n) + BigInt(epoch * 100 + i),
      beforeImage: Buffer.alloc(0),
      afterImage: image(epoch, i),
    });
  }
  return out;
}

/** A clean chained v2 log of epochs 1..count, 3 records each. */
function makeLog(dir: string, count = 3): string {
  const db = path.join(dir, 'app.db');
  let prev: number | null = null;
  for (let e = 1; e <= count; e++) {
    writeSegmentSync(db, { epoch: e, records: records(e, 3), recordsPerCore: [2, 1], dbSizePages: 10 * e }, { fsyncPolicy: 'off', prevDurableEpoch: prev });
    prev = e;
  }
  return db;
}

let dir: string;
beforeAll(() => {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build:ts\` first (npm test does)`);
});
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pwal-cli-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('help and usage', () => {
  test('pwal --help lists the commands and documents the exit codes', () => {
    const r = pwal('--help');
    expect(r.code).toBe(0);
    for (const cmd of ['inspect', 'verify', 'dump', 'recover', 'bench']) expect(r.stdout).toContain(cmd);
    expect(r.stdout).toMatch(/Exit codes:[\s\S]*0 +success[\s\S]*1 +the log is damaged[\s\S]*2 +usage error[\s\S]*3 +I\/O error/);
  });

  test.each(['inspect', 'verify', 'dump', 'recover', 'bench'])('pwal %s --help', (cmd) => {
    const r = pwal(cmd, '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: pwal ${cmd}`);
  });

  test('no command, an unknown command or option, a missing argument: exit 2', () => {
    expect(pwal().code).toBe(2);
    const unknown = pwal('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command/);
    expect(pwal('verify', '--bogus', 'x').code).toBe(2);
    const missing = pwal('verify');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing required argument/);
  });

  test('--version prints the package version', () => {
    const r = pwal('--version');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });
});

describe('bad input: exit 2 with a clear message', () => {
  test('a path that does not exist and has no segments', () => {
    const r = pwal('verify', path.join(dir, 'nope.db'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nope\.db: no such file, and no segments named nope\.db-wal-seg-<epoch>/);
  });

  test('a directory that does not exist', () => {
    const r = pwal('inspect', path.join(dir, 'missing-dir', 'x.db'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no such directory/);
  });

  test('a file that is not a segment and has no segments beside it', () => {
    const f = path.join(dir, 'notes.txt');
    fs.writeFileSync(f, 'hello, not a segment\n');
    for (const cmd of ['inspect', 'verify', 'dump', 'recover']) {
      const r = pwal(cmd, f);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/notes\.txt is not a segment file/);
    }
  });

  test('a directory, naming the logs found in it', () => {
    makeLog(dir, 1);
    const r = pwal('inspect', dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is a directory/);
    expect(r.stderr).toContain('app.db');
  });
});

describe('a clean log', () => {
  test('inspect: one line per segment with format, records, bytes, certificate, status', () => {
    const db = makeLog(dir);
    const r = pwal('inspect', db);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^EPOCH\s+FORMAT\s+RECORDS\s+BYTES\s+CERTIFICATE\s+STATUS$/);
    for (let e = 1; e <= 3; e++) {
      const size = fs.statSync(segmentPath(db, e)).size;
      const prev = e === 1 ? 'none' : String(e - 1);
      const lo = (1n << 63n) + BigInt(e * 100);
      expect(lines[e]).toMatch(
        new RegExp(`^${e}\\s+v2\\s+3\\s+${size}\\s+seq ${lo}\\.\\.${lo + 2n}, prev ${prev}, lanes 2, pages 3, db ${10 * e}\\s+ok$`),
      );
    }
    expect(lines[4]).toBe('3 segment(s), all ok: recovery applies all of them');
  });

  test('inspect --json: u64 exact as decimal strings', () => {
    const db = makeLog(dir, 2);
    const r = pwal('inspect', '--json', db);
    expect(r.code).toBe(0);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({ epoch: '2', format: 2, records: 3, status: 'ok', reason: null });
    expect(rows[1].certificate.commitSeqLo).toBe(((1n << 63n) + 200n).toString());
    expect(rows[1].certificate.durableSegmentEpoch).toBe('1');
  });

  test('verify: exit 0, every segment counted, no progress bar when stderr is not a terminal', () => {
    const db = makeLog(dir);
    const r = pwal('verify', db);
    expect(r.code).toBe(0);
    const bytes = [1, 2, 3].reduce((a, e) => a + fs.statSync(segmentPath(db, e)).size, 0);
    expect(r.stdout).toContain(`OK: 3 segment(s), 9 record(s), ${bytes} bytes`);
    expect(r.stderr).toBe('');
  });

  test('verify also accepts one segment file, and a v1 segment', () => {
    const db = path.join(dir, 'old.db');
    writeSegmentSync(db, { epoch: 5, records: records(5, 2), recordsPerCore: [2] }, { fsyncPolicy: 'off', formatVersion: 1 });
    const file = segmentPath(db, 5);
    const v = pwal('verify', file);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('(1 v1 segment(s): the v1 format checksums only the header)');
    const r = pwal('inspect', db);
    expect(r.stdout.split('\n')[1]).toMatch(/^5\s+v1\s+2\s+\d+\s+none \(v1\)\s+ok$/);
  });

  test('dump: text lines in replay order, u64 exact', () => {
    const db = makeLog(dir, 2);
    const r = pwal('dump', db);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(6);
    const id = U64_MAX - 100n; // epoch 1, record 0
    const seq = (1n << 63n) + 100n;
    expect(lines[0]).toBe(
      `epoch=1 txn=${id}/7 page=1 begin=${seq} end=${seq} before=0B after=${AFTER}B after[0..16]=${image(1, 0).subarray(0, 16).toString('hex')}...`,
    );
    expect(lines[5]).toMatch(/^epoch=2 txn=\d+\/7 page=3 /);
  });

  test('dump --json: one object per record, u64 as decimal strings, images base64', () => {
    const db = makeLog(dir, 2);
    const r = pwal('dump', '--json', db);
    expect(r.code).toBe(0);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(6);
    expect(rows[4]).toEqual({
      epoch: '2',
      txnId: (U64_MAX - 201n).toString(),
      txnEpoch: 7,
      pageId: 2,
      beginSeq: ((1n << 63n) + 201n).toString(),
      endSeq: ((1n << 63n) + 201n).toString(),
      beforeLength: 0,
      afterLength: AFTER,
      beforeImage: '',
      afterImage: image(2, 1).toString('base64'),
    });
    const bare = pwal('dump', '--json', '--no-images', db);
    expect(JSON.parse(bare.stdout.split('\n')[0])).not.toHaveProperty('afterImage');
  });

  test('dump into a pipe that closes early (| head): exit 0, no error', async () => {
    const db = path.join(dir, 'big.db');
    for (let e = 1; e <= 20; e++) {
      const recs = records(e, 64).map((r) => ({ ...r, afterImage: Buffer.alloc(4096, e) }));
      writeSegmentSync(db, { epoch: e, records: recs, recordsPerCore: [64] }, { fsyncPolicy: 'off' });
    }
    const child = spawn(process.execPath, [BIN, 'dump', '--json', db], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let first = '';
    child.stdout.once('data', (d) => {
      first = String(d);
      child.stdout.destroy();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(JSON.parse(first.split('\n')[0]).epoch).toBe('1');
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  test('recover: reports what was applied; --delete-after needs --out (or --force)', () => {
    const db = makeLog(dir);
    const r = pwal('recover', db);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^recovered 3 segment\(s\), 9 record\(s\), \d+ bytes; epochs 1\.\.3$/m);

    const refused = pwal('recover', '--delete-after', db);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--delete-after .* --out/);
    expect(listSegmentsSync(db)).toHaveLength(3);

    const out = path.join(dir, 'records.jsonl');
    const done = pwal('recover', '--delete-after', '--out', out, db);
    expect(done.code).toBe(0);
    expect(done.stdout).toContain('deleted 3 applied segment(s)');
    expect(listSegmentsSync(db)).toHaveLength(0);
    const saved = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(saved).toHaveLength(9);
    expect(saved[8].txnId).toBe((U64_MAX - 302n).toString());

    // --out never overwrites.
    makeLog(dir, 1);
    const again = pwal('recover', '--out', out, db);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
  });
});

describe('a corrupted byte in a middle segment', () => {
  function corrupt(): string {
    const db = makeLog(dir);
    const file = segmentPath(db, 2);
    const bytes = fs.readFileSync(file);
    // Inside record 1's body (after its 4-byte length): the txn epoch field.
    const off = HEADER + RECORD_BYTES + 4 + 9;
    bytes[off] ^= 0x40;
    fs.writeFileSync(file, bytes);
    return db;
  }

  test('verify: exit 1 naming the segment, its epoch and record 1', () => {
    const db = corrupt();
    const r = pwal('verify', db);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`FAIL: segment ${segmentPath(db, 2)} (epoch 2, record 1): corrupt`);
    expect(r.stderr).toMatch(/checksum mismatch/);
    expect(r.stderr).toContain('1 segment(s) before it are clean; 1 later segment(s) not checked');
  });

  test('verify --json', () => {
    const db = corrupt();
    const r = pwal('verify', '--json', db);
    expect(r.code).toBe(1);
    const v = JSON.parse(r.stdout);
    expect(v).toMatchObject({ clean: false, segmentsChecked: 1, unchecked: 1 });
    expect(v.firstBad).toMatchObject({ epoch: '2', status: 'corrupt', recordIndex: 1, path: segmentPath(db, 2) });
  });

  test('inspect shows every segment, exit 0', () => {
    const db = corrupt();
    const r = pwal('inspect', db);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[1]).toMatch(/\sok$/);
    expect(lines[2]).toMatch(/^2\s+v2\s+3\s+\d+\s+-\s+corrupt: .*record 1/);
    expect(lines[3]).toMatch(/\sok$/);
    expect(lines[4]).toBe('3 segment(s): recovery fails at epoch 2 (corrupt); with --skip-corrupt it applies the 1 before it and leaves 2');
  });

  test('recover: exit 1; --skip-corrupt recovers the prefix and still exits 1', () => {
    const db = corrupt();
    const strict = pwal('recover', db);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/nothing applied/);
    const skip = pwal('recover', '--skip-corrupt', db);
    expect(skip.code).toBe(1);
    expect(skip.stdout).toMatch(/^recovered 1 segment\(s\), 3 record\(s\)/);
    expect(skip.stdout).toContain(`not applied: ${segmentPath(db, 2)}, ${segmentPath(db, 3)}`);
  });

  test('dump: the records before the damage, then exit 1', () => {
    const db = corrupt();
    const r = pwal('dump', db);
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
    expect(r.stderr).toMatch(/^FAIL at record 1: /);
  });
});

describe('a missing middle segment', () => {
  test('verify: a certificate gap at the segment after the hole', () => {
    const db = makeLog(dir);
    fs.unlinkSync(segmentPath(db, 2));
    const r = pwal('verify', db);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`FAIL: segment ${segmentPath(db, 3)} (epoch 3): gap`);
    expect(r.stderr).toMatch(/previous durable segment is epoch 2, but the previous segment on disk is epoch 1: a segment is missing/);
    const i = pwal('inspect', db);
    expect(i.code).toBe(0);
    expect(i.stdout.trim().split('\n')[2]).toMatch(/^3\s+v2\s+3\s+\d+\s+-\s+gap: /);
    expect(pwal('recover', db).code).toBe(1);
  });
});

describe('a torn tail', () => {
  function torn(): string {
    const db = makeLog(dir);
    const file = segmentPath(db, 3);
    fs.truncateSync(file, fs.statSync(file).size - 10);
    return db;
  }

  test('verify: exit 1 saying torn tail; --allow-torn-tail accepts it', () => {
    const db = torn();
    const r = pwal('verify', db);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`FAIL: segment ${segmentPath(db, 3)} (epoch 3): torn`);
    expect(r.stderr).toMatch(/torn tail/);
    const ok = pwal('verify', '--allow-torn-tail', db);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^OK: 2 segment\(s\), 6 record\(s\), \d+ bytes: .*torn tail at epoch 3 accepted/);
  });

  test('recover and dump: the durable prefix, exit 0, the tail reported', () => {
    const db = torn();
    const r = pwal('recover', db);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^recovered 2 segment\(s\), 6 record\(s\)/);
    expect(r.stdout).toContain(`torn tail: ${segmentPath(db, 3)}`);
    const d = pwal('dump', '--json', db);
    expect(d.code).toBe(0);
    expect(d.stdout.trim().split('\n')).toHaveLength(6);
    expect(d.stderr).toMatch(/torn tail/);
    const i = pwal('inspect', db);
    expect(i.stdout).toContain('recovery applies 2, reports epoch 3 as a torn tail');
    // --discard-torn-tail deletes it, after which the log verifies clean.
    expect(pwal('recover', '--discard-torn-tail', db).code).toBe(0);
    expect(fs.existsSync(segmentPath(db, 3))).toBe(false);
    expect(pwal('verify', db).code).toBe(0);
  });
});

describe('bench', () => {
  test('--list names the suites of bench/suites', () => {
    const r = pwal('bench', '--list');
    expect(r.code).toBe(0);
    const names = fs.readdirSync(path.join(ROOT, 'bench', 'suites')).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3));
    expect(r.stdout.trim().split('\n').sort()).toEqual(names.sort());
  });

  test('an unknown suite is a usage error', () => {
    const r = pwal('bench', 'no-such-suite');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown suite\(s\): no-such-suite/);
  });
});
