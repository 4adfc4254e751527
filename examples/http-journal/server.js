#!/usr/bin/env node
'use strict';
// An HTTP journal: every POST body is appended to a durable log and the response is sent only
// once the body is durable.
//
//   node examples/http-journal/server.js [--mode wal|fsync] [--db <path>] [--port <n>] [--host 127.0.0.1]
//
// --mode wal   (default) each body becomes a one-frame commit of parallel-wal; concurrent
//              requests share an epoch, so one segment write + fsync acknowledges many of them.
// --mode fsync the comparison: each request does its own write + fdatasync on one append-only
//              file (length-prefixed records), the usual "fsync per request" server.
//
// On start it prints one JSON line to stdout: {"listening":{"host","port"},"mode","db","recovered"}.
// SIGTERM/SIGINT close the server, then the log (every acknowledged body is already durable).
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const MAX_BODY = 65536; // one WAL frame (SQLite's largest page)

function parseArgs(argv) {
  const o = { mode: 'wal', db: path.join(process.cwd(), 'journal.db'), port: 8080, host: '127.0.0.1' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--mode') o.mode = next();
    else if (a === '--db') o.db = path.resolve(next());
    else if (a === '--port') o.port = Number(next());
    else if (a === '--host') o.host = next();
    else throw new Error(`unknown argument: ${a}`);
  }
  if (o.mode !== 'wal' && o.mode !== 'fsync') throw new Error(`--mode must be wal or fsync, not ${o.mode}`);
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new Error(`--port must be 0..65535`);
  return o;
}

/** The parallel-wal journal: one commit per body, resolved when its epoch is durable. */
async function openWalJournal(dbPath) {
  const pwal = require('../..');
  // Continue the numbering after what is already durable.
  let lastId = 0n;
  let recovered = 0;
  const { records } = await pwal.recoverSegments(dbPath, { discardTornTail: true });
  for (const r of records) if (r.txnToken.id > lastId) lastId = r.txnToken.id;
  recovered = records.length;
  const wal = await pwal.ParallelWal.open(dbPath);
  let nextId = lastId;
  return {
    recovered,
    async append(body) {
      nextId += 1n;
      const id = nextId;
      // Page numbers are u32 != 0: entry 1 is page 1, wrapping after 2^32-1 entries.
      const pageNumber = Number((id - 1n) % 0xffffffffn) + 1;
      const epoch = await wal.commit({ txnToken: { id }, commitSeq: id, frames: [{ pageNumber, pageData: body }] });
      return { id: id.toString(), epoch };
    },
    close: () => wal.close(),
  };
}

/** The comparison: write + fdatasync per request on one append-only file. */
async function openFsyncJournal(dbPath) {
  const file = `${dbPath}.journal`;
  let recovered = 0;
  try {
    recovered = readFsyncJournal(file).length;
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
  const fh = await fs.promises.open(file, 'a');
  let nextId = recovered;
  return {
    recovered,
    async append(body) {
      const id = ++nextId;
      const rec = Buffer.allocUnsafe(4 + body.length);
      rec.writeUInt32LE(body.length, 0);
      body.copy(rec, 4);
      await fh.write(rec);
      await fh.datasync();
      return { id: String(id) };
    },
    close: () => fh.close(),
  };
}

/** Reads the fsync-mode journal back: the bodies, in order; a torn last record is dropped. */
function readFsyncJournal(file) {
  const buf = fs.readFileSync(file);
  const out = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (off + 4 + len > buf.length) break;
    out.push(buf.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  return out;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c) => {
      size += c.length;
      if (tooLarge) return;
      if (size > MAX_BODY) {
        // Answer 413 now; the connection is closed once the answer is sent (see send()).
        tooLarge = true;
        chunks.length = 0;
        reject(Object.assign(new Error(`body over ${MAX_BODY} bytes`), { status: 413 }));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!tooLarge) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', reject);
  });
}

function send(res, status, obj) {
  const body = JSON.stringify(obj);
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (status === 413) {
    // The rest of an oversized body is not read: close the connection after answering.
    headers.connection = 'close';
    res.on('finish', () => res.req.destroy());
  }
  res.writeHead(status, headers);
  res.end(body);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const journal = o.mode === 'wal' ? await openWalJournal(o.db) : await openFsyncJournal(o.db);
  const server = http.createServer(async (req, res) => {
    if (req.method === 'GET' && req.url === '/health') return send(res, 200, { ok: true, mode: o.mode });
    if (req.method !== 'POST') return send(res, 405, { error: 'POST a body to append it' });
    try {
      const body = await readBody(req);
      if (body.length === 0) return send(res, 400, { error: 'empty body' });
      const ack = await journal.append(body);
      send(res, 201, { durable: true, ...ack });
    } catch (e) {
      send(res, e.status || 503, { error: e.message, code: e.code });
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, resolve);
  });
  const addr = server.address();
  process.stdout.write(JSON.stringify({ listening: { host: addr.address, port: addr.port }, mode: o.mode, db: o.db, recovered: journal.recovered }) + '\n');

  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    // Finish the requests in flight (each is answered once durable), then close the log.
    const force = setTimeout(() => server.closeAllConnections(), 5000);
    await new Promise((resolve) => {
      server.close(resolve);
      server.closeIdleConnections();
    });
    clearTimeout(force);
    await journal.close();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e && e.stack ? e.stack : e);
    process.exit(1);
  });
}

module.exports = { readFsyncJournal };
