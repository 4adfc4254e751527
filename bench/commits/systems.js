'use strict';
// The systems the commits suite compares. Each adapter opens a fresh store in `dir` and returns
// `{ op, close, stats? }`: `op()` is one durable commit of `payload` (a Promise, or undefined
// when the system's API is synchronous), `close()` releases everything.
const fs = require('node:fs');
const path = require('node:path');
const diagnosticsChannel = require('node:diagnostics_channel');

const ROOT = path.join(__dirname, '..', '..');

// ---------------------------------------------------------------------------------------------
// The floor: one fd, append + fdatasync per op, synchronous syscalls, nothing else.
function syncAppendFsync({ dir, payload }) {
  const fd = fs.openSync(path.join(dir, 'log'), 'a');
  return {
    op() {
      let off = 0;
      while (off < payload.length) off += fs.writeSync(fd, payload, off, payload.length - off);
      fs.fdatasyncSync(fd);
    },
    close() {
      fs.closeSync(fd);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Naive: fs.promises write + datasync per commit, serialized through one FileHandle.
async function naive({ dir, payload }) {
  const fh = await fs.promises.open(path.join(dir, 'log'), 'a');
  let tail = Promise.resolve();
  const commitOne = async () => {
    await fh.write(payload);
    await fh.datasync();
  };
  return {
    op() {
      const p = tail.then(commitOne);
      tail = p.catch(() => {});
      return p;
    },
    async close() {
      await tail;
      await fh.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Hand-written JS group commit: commits queue up; one writev + one fdatasync per batch; the
// next batch starts as soon as the previous fdatasync returns (or, when idle, once the current
// run of promise continuations has enqueued what it is going to — process.nextTick runs after
// the microtask queue drains, so commits issued in the same turn share one batch without adding
// a timer's latency). Callback APIs, no FileHandle, no per-commit closures beyond the Promise.
class GroupCommitLog {
  constructor(fd) {
    this.fd = fd;
    this.bufs = [];
    this.resolves = [];
    this.rejects = [];
    this.busy = false;
    this.kickScheduled = false;
    this.kick = () => {
      this.kickScheduled = false;
      if (!this.busy && this.bufs.length) this.flush();
    };
  }
  append(buf) {
    return new Promise((resolve, reject) => {
      this.bufs.push(buf);
      this.resolves.push(resolve);
      this.rejects.push(reject);
      if (!this.busy && !this.kickScheduled) {
        this.kickScheduled = true;
        process.nextTick(this.kick);
      }
    });
  }
  flush() {
    this.busy = true;
    const bufs = this.bufs;
    const resolves = this.resolves;
    const rejects = this.rejects;
    this.bufs = [];
    this.resolves = [];
    this.rejects = [];
    const fail = (err) => {
      for (const r of rejects) r(err);
      this.after();
    };
    // libuv writes every buffer (looping over IOV_MAX chunks and short writes) before calling back.
    fs.writev(this.fd, bufs, (err) => {
      if (err) return fail(err);
      fs.fdatasync(this.fd, (err2) => {
        if (err2) return fail(err2);
        for (const r of resolves) r();
        this.after();
      });
    });
  }
  after() {
    this.busy = false;
    if (this.bufs.length) this.flush();
  }
  waitIdle() {
    return new Promise((resolve) => {
      const check = () => (this.busy || this.bufs.length ? setTimeout(check, 1) : resolve());
      check();
    });
  }
}

function jsGroupCommit({ dir, payload }) {
  const fd = fs.openSync(path.join(dir, 'log'), 'a');
  const log = new GroupCommitLog(fd);
  return {
    op: () => log.append(payload),
    async close() {
      await log.waitIdle();
      fs.closeSync(fd);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// lmdb: `await db.put(key, value)` with the default durability settings. Values stored as raw
// binary (encoding choice only; no durability option touched).
function lmdbAdapter(mod) {
  return async ({ dir, payload }) => {
    const db = mod.open({ path: path.join(dir, 'lmdb'), encoding: 'binary' });
    let key = 0;
    return {
      op: () => db.put(key++, payload),
      async close() {
        await db.close();
      },
    };
  };
}

// ---------------------------------------------------------------------------------------------
// better-sqlite3, journal_mode=WAL, synchronous=FULL. Its API is synchronous: one autocommit
// INSERT per commit, blocking the event loop — inherently one commit in flight.
function sqliteOpen(Database, dir) {
  const db = new Database(path.join(dir, 'db.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, v BLOB NOT NULL)');
  return db;
}

function sqliteAdapter(Database) {
  return ({ dir, payload }) => {
    const db = sqliteOpen(Database, dir);
    const insert = db.prepare('INSERT INTO log (id, v) VALUES (?, ?)');
    let id = 1;
    return {
      op() {
        insert.run(id++, payload);
      },
      close() {
        db.close();
      },
    };
  };
}

// better-sqlite3 with a hand-written batcher: the N concurrent clients' INSERTs are queued and
// committed together in one transaction per event-loop turn (setImmediate), then all resolved.
// It is the JS group commit with SQLite as the store — what a user would write to serve many
// concurrent requests from one connection — and measured with the same closed loop.
function sqliteBatchedAdapter(Database) {
  return ({ dir, payload }) => {
    const db = sqliteOpen(Database, dir);
    const insert = db.prepare('INSERT INTO log (id, v) VALUES (?, ?)');
    let id = 1;
    let queue = [];
    let resolves = [];
    let scheduled = false;
    const insertAll = db.transaction((bufs) => {
      for (const b of bufs) insert.run(id++, b);
    });
    const flush = () => {
      scheduled = false;
      const bufs = queue;
      const rs = resolves;
      queue = [];
      resolves = [];
      try {
        insertAll(bufs);
      } catch (e) {
        for (const r of rs) r.reject(e);
        return;
      }
      for (const r of rs) r.resolve();
    };
    return {
      op() {
        return new Promise((resolve, reject) => {
          queue.push(payload);
          resolves.push({ resolve, reject });
          if (!scheduled) {
            scheduled = true;
            setImmediate(flush);
          }
        });
      },
      close() {
        db.close();
      },
    };
  };
}

// ---------------------------------------------------------------------------------------------
// classic-level: put with { sync: true }.
function classicLevelAdapter(mod) {
  return async ({ dir, payload }) => {
    const db = new mod.ClassicLevel(path.join(dir, 'level'), { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    await db.open();
    let key = 0;
    const opts = { sync: true };
    return {
      op: () => db.put((key++).toString(36).padStart(10, '0'), payload, opts),
      async close() {
        await db.close();
      },
    };
  };
}

// ---------------------------------------------------------------------------------------------
// parallel-wal: commit() of a one-frame batch, resolved when its epoch is durable.
const TRACE_CHANNEL = 'parallel-wal:trace';

function loadParallelWal() {
  const dist = path.join(ROOT, 'dist', 'index.js');
  const mod = require(dist);
  if (!mod.ParallelWal || typeof mod.ParallelWal.open !== 'function') {
    throw new Error(`dist/index.js does not export ParallelWal.open yet (run \`npm run build:ts\` once lib/index.ts exports it)`);
  }
  return mod;
}

/** True when the built package publishes on the trace channel at all. */
function traceChannelPresent() {
  const distDir = path.join(ROOT, 'dist');
  try {
    return fs.readdirSync(distDir).some((f) => f.endsWith('.js') && fs.readFileSync(path.join(distDir, f), 'utf8').includes(TRACE_CHANNEL));
  } catch {
    return false;
  }
}

function parallelWalAdapter(mod, { trace = false } = {}) {
  return async ({ dir, payload }) => {
    const stats = { traceMessages: 0 };
    let onTrace;
    if (trace) {
      onTrace = () => {
        stats.traceMessages++;
      };
      diagnosticsChannel.subscribe(TRACE_CHANNEL, onTrace);
    }
    // PWAL_BENCH_WAL_OPTIONS='{"logFileFill":"always"}' (development aid: A/B runs of an option).
    const options = process.env.PWAL_BENCH_WAL_OPTIONS ? JSON.parse(process.env.PWAL_BENCH_WAL_OPTIONS) : {};
    const wal = await mod.ParallelWal.open(path.join(dir, 'db'), options);
    let id = 1;
    return {
      stats,
      op() {
        const n = id++;
        return wal.commit({
          txnToken: { id: n, epoch: 0 },
          commitSeq: n,
          frames: [{ pageNumber: (n % 1000000) + 1, pageData: payload, dbSizeIfCommit: 1000001 }],
        });
      },
      async close() {
        await wal.close();
        if (onTrace) diagnosticsChannel.unsubscribe(TRACE_CHANNEL, onTrace);
      },
      wal,
    };
  };
}

/**
 * name -> { peer: npm name to load (or null), make(mod) -> adapter }.
 * `peer` is reported through loadPeer when it fails to load.
 */
const SYSTEMS = {
  floor: { peer: null, make: () => syncAppendFsync },
  seqbw: { peer: null, make: () => syncAppendFsync },
  naive: { peer: null, make: () => naive },
  'js-group-commit': { peer: null, make: () => jsGroupCommit },
  lmdb: { peer: 'lmdb', make: lmdbAdapter },
  'better-sqlite3': { peer: 'better-sqlite3', make: sqliteAdapter },
  'better-sqlite3 (JS-batched txn)': { peer: 'better-sqlite3', make: sqliteBatchedAdapter },
  'classic-level': { peer: 'classic-level', make: classicLevelAdapter },
  'parallel-wal': { peer: 'parallel-wal', load: loadParallelWal, make: (m) => parallelWalAdapter(m) },
  'parallel-wal+trace': { peer: 'parallel-wal', load: loadParallelWal, make: (m) => parallelWalAdapter(m, { trace: true }) },
};

module.exports = { SYSTEMS, GroupCommitLog, TRACE_CHANNEL, traceChannelPresent, loadParallelWal, ROOT };
