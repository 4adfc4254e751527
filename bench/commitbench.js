const { ParallelWal } = require(require('path').join(__dirname, '..', 'dist'));
const fs = require('fs'), os = require('os'), path = require('path');
async function main() {
  const inflight = Number(process.argv[2] || 1024), size = Number(process.argv[3] || 128), secs = Number(process.argv[4] || 3);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-'));
  const wal = await ParallelWal.open(path.join(dir, 'x.db'), { fsyncPolicy: process.env.FSYNC || 'full', preparedSegments: process.env.PREP !== '0', ...(process.env.FILL ? { logFileFill: process.env.FILL } : {}), ...(process.env.TURN_HOLD_US ? { __turnHoldUs: Number(process.env.TURN_HOLD_US) } : {}) });
  const data = Buffer.alloc(size, 7);
  let n = 0, seq = 1, stop = false;
  const lat = [];
  async function client() {
    while (!stop) {
      const s = seq++;
      const t0 = process.hrtime.bigint();
      await wal.commit({ txnToken: { id: s, epoch: 0 }, commitSeq: s, frames: [{ pageNumber: 1 + (s % 1000), pageData: data, dbSizeIfCommit: 0 }] });
      if ((n & 15) === 0) lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
      n++;
    }
  }
  const mainCpu = () => { const f = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10; /* ms at 100 Hz */ };
  const cpu0 = mainCpu();
  const t0 = Date.now();
  const cs = []; for (let i = 0; i < inflight; i++) cs.push(client());
  await new Promise(r => setTimeout(r, secs * 1000)); stop = true; await Promise.all(cs);
  const dt = (Date.now() - t0) / 1000;
  const mainUsPerCommit = ((mainCpu() - cpu0) * 1000) / n;
  lat.sort((a, b) => a - b);
  console.log(`inflight=${inflight} size=${size}: ${(n / dt).toFixed(0)} commits/s p50=${lat[lat.length >> 1].toFixed(3)}ms p99=${lat[Math.floor(lat.length * 0.99)].toFixed(3)}ms main-thread=${mainUsPerCommit.toFixed(2)}us/commit`, (() => { const s = wal.stats ? wal.stats() : {}; return `epochs=${s.epochsSealed} empty=${s.emptyEpochs} segs=${s.segmentsWritten} prepPub=${s.preparedPublishes} prepFiles=${s.preparedFiles} logsFilled=${s.logFilesFilled} logsAppended=${s.logFilesAppended} fsync p50/p99/max=${(s.fsyncLatencyNs.p50/1e6).toFixed(2)}/${(s.fsyncLatencyNs.p99/1e6).toFixed(2)}/${(s.fsyncLatencyNs.max/1e6).toFixed(1)}ms turnHolds=${s.turnHolds} expired=${s.turnHoldsExpired}`; })());
  await wal.close(); fs.rmSync(dir, { recursive: true });
}
main();
