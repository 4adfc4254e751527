#!/usr/bin/env node
// `pwal`: look inside a parallel-wal log. Commands: inspect, verify, dump, recover, bench.
// Exit codes: see ./errors.ts (EXIT) and `pwal --help`.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Command, CommanderError, Option } from 'commander';

import { checkSegments, certificateSummary, recordIndexOf, type SegmentReport } from './check';
import { CliError, EXIT, EXIT_CODES_HELP, type ExitCode } from './errors';
import { LineWriter, columns, jsonLine, recordJson, recordText } from './output';
import { resolveTarget, type Target } from './target';

const VERSION: string = (() => {
  try {
    return JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
})();

function err(line: string): void {
  process.stderr.write(line + '\n');
}

// ---------------------------------------------------------------------------------------------
// progress (only on a terminal)

interface Progress {
  tick(bytes: number, label: string): void;
  stop(): void;
}

const NO_PROGRESS: Progress = { tick() {}, stop() {} };

/** A cli-progress bar over the bytes of the log, on stderr, only when stderr is a TTY. */
function progressBar(total: number, count: number, enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY || count < 2) return NO_PROGRESS;
  // Loaded lazily: only a terminal ever needs it.
  const cliProgress = require('cli-progress') as typeof import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'verify [{bar}] {percentage}% | {value}/{total} MiB | {segment}',
      hideCursor: true,
      clearOnComplete: true,
      formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? (v / 2 ** 20).toFixed(1) : String(v)),
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { segment: '' });
  let done = 0;
  return {
    tick(bytes, label) {
      done += bytes;
      bar.update(done, { segment: label });
    },
    stop() {
      bar.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// commands

function epochText(r: SegmentReport): string {
  return r.epoch === null ? '?' : r.epoch.toString();
}

function reportJson(r: SegmentReport): Record<string, unknown> {
  return { ...r };
}

async function inspect(arg: string, opts: { json?: boolean }): Promise<ExitCode> {
  const target = resolveTarget(arg);
  const out = new LineWriter();
  const rows: string[][] = [['EPOCH', 'FORMAT', 'RECORDS', 'BYTES', 'CERTIFICATE', 'STATUS']];
  const reports: SegmentReport[] = [];
  for await (const { report } of checkSegments(target)) {
    reports.push(report);
    if (opts.json) {
      await out.line(jsonLine(reportJson(report)));
    } else {
      const status = report.status === 'ok' ? 'ok' : `${report.status}: ${report.reason}`;
      rows.push([
        epochText(report),
        report.format === null ? '?' : `v${report.format}`,
        report.records === null ? '?' : String(report.records),
        String(report.bytes),
        report.status === 'ok' ? certificateSummary(report.format, report.certificate) : '-',
        status,
      ]);
    }
  }
  if (!opts.json) {
    for (const line of columns(rows)) await out.line(line);
    await out.line(recoverySummary(target, reports));
  }
  await out.flush();
  return EXIT.OK;
}

/** What recovery would do with these segments, in one line. */
function recoverySummary(target: Target, reports: SegmentReport[]): string {
  if (target.kind === 'file') {
    return reports[0].status === 'ok' ? 'segment is clean' : `segment is ${reports[0].status}`;
  }
  const bad = reports.findIndex((r) => r.status !== 'ok');
  const total = reports.length;
  if (bad < 0) return `${total} segment(s), all ok: recovery applies all of them`;
  const r = reports[bad];
  if (r.status === 'torn') {
    return `${total} segment(s): recovery applies ${bad}, reports epoch ${epochText(r)} as a torn tail`;
  }
  return (
    `${total} segment(s): recovery fails at epoch ${epochText(r)} (${r.status}); ` +
    `with --skip-corrupt it applies the ${bad} before it and leaves ${total - bad}`
  );
}

async function verify(arg: string, opts: { allowTornTail?: boolean; progress?: boolean; json?: boolean }): Promise<ExitCode> {
  const target = resolveTarget(arg);
  let total = 0;
  for (const s of target.segments) {
    try {
      total += fs.statSync(s.path).size;
    } catch {
      /* reported by the check itself */
    }
  }
  const bar = progressBar(total, target.segments.length, opts.progress !== false && !opts.json);
  let checked = 0;
  let records = 0;
  let bytes = 0;
  let v1 = 0;
  let torn: SegmentReport | undefined;
  let bad: SegmentReport | undefined;
  try {
    for await (const { report } of checkSegments(target)) {
      bar.tick(report.bytes, path.basename(report.path));
      if (report.status === 'torn' && opts.allowTornTail) {
        torn = report;
        break;
      }
      if (report.status !== 'ok') {
        bad = report;
        break;
      }
      checked += 1;
      if (report.format === 1) v1 += 1;
      records += report.records ?? 0;
      bytes += report.bytes;
    }
  } finally {
    bar.stop();
  }
  const unchecked = bad ? target.segments.length - checked - 1 : 0;
  if (opts.json) {
    process.stdout.write(
      jsonLine({ clean: bad === undefined, segmentsChecked: checked, v1Segments: v1, records, bytes, tornTail: torn ?? null, firstBad: bad ?? null, unchecked }) + '\n',
    );
  } else if (bad) {
    const rec = bad.recordIndex === null ? '' : `, record ${bad.recordIndex}`;
    err(`FAIL: segment ${bad.path} (epoch ${epochText(bad)}${rec}): ${bad.status}`);
    err(`  ${bad.reason}`);
    if (bad.status === 'torn') err('  (the last segment: recovery reports it as a torn tail and applies the rest; --allow-torn-tail accepts it)');
    err(`  ${checked} segment(s) before it are clean; ${unchecked} later segment(s) not checked (see \`pwal inspect\`)`);
  } else {
    const tail = torn ? `; torn tail at epoch ${epochText(torn)} accepted (${torn.reason})` : '';
    const old = v1 ? ` (${v1} v1 segment(s): the v1 format checksums only the header)` : '';
    process.stdout.write(`OK: ${checked} segment(s), ${records} record(s), ${bytes} bytes: every checksum and certificate link verified${old}${tail}\n`);
  }
  return bad ? EXIT.DAMAGED : EXIT.OK;
}

async function dump(arg: string, opts: { json?: boolean; images?: boolean; skipCorrupt?: boolean }): Promise<ExitCode> {
  const target = resolveTarget(arg);
  const out = new LineWriter();
  const images = opts.images !== false;
  const emit = (r: Parameters<typeof recordText>[0]) => out.line(opts.json ? jsonLine(recordJson(r, images)) : recordText(r, images));
  if (target.kind === 'file') {
    for await (const { report, contents } of checkSegments(target)) {
      if (!contents) {
        await out.flush();
        err(`${arg}: segment is ${report.status}: ${report.reason}`);
        return EXIT.DAMAGED;
      }
      for (const r of contents.records) await emit(r);
    }
    await out.flush();
    return EXIT.OK;
  }
  const { iterateSegmentRecords } = await import('../segments');
  const it = iterateSegmentRecords(target.dbPath, { skipCorrupt: Boolean(opts.skipCorrupt) });
  try {
    for (;;) {
      const step = await it.next();
      if (step.done) {
        await out.flush();
        const s = step.value;
        if (s.tornTail) err(`note: ${s.stopReason} (the torn tail is not part of the durable log)`);
        if (!s.tornTail && s.stopReason !== null) {
          err(`stopped early (--skip-corrupt): ${s.stopReason}`);
          err(`  not applied: ${s.partialSegments.join(', ')}`);
          return EXIT.DAMAGED;
        }
        return EXIT.OK;
      }
      await emit(step.value);
      if (out.closed) return EXIT.OK;
    }
  } catch (e) {
    await out.flush();
    const error = e as Error & { code?: string };
    if (error.code === 'WAL_CORRUPTION') {
      const rec = recordIndexOf(error.message);
      err(`FAIL${rec === null ? '' : ` at record ${rec}`}: ${error.message}`);
      err('  records before the damage were printed; --skip-corrupt prints the durable prefix and exits 1 as well');
      return EXIT.DAMAGED;
    }
    throw e;
  }
}

interface RecoverOptions {
  skipCorrupt?: boolean;
  deleteAfter?: boolean;
  discardTornTail?: boolean;
  out?: string;
  force?: boolean;
  json?: boolean;
}

function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

async function recover(arg: string, opts: RecoverOptions): Promise<ExitCode> {
  const target = resolveTarget(arg);
  if (target.kind === 'file') {
    throw new CliError(`recover works on a database path (its log), not on one segment file: ${arg}`, EXIT.USAGE);
  }
  if (opts.deleteAfter && !opts.out && !opts.force) {
    throw new CliError(
      '--delete-after deletes the recovered segments; without --out <file> their records would be lost. ' +
        'Give --out <file> to save them first, or --force to delete anyway.',
      EXIT.USAGE,
    );
  }
  const { recoverSegments, segmentPath } = await import('../segments');
  let recovery;
  try {
    recovery = await recoverSegments(target.dbPath, {
      skipCorrupt: Boolean(opts.skipCorrupt),
      discardTornTail: Boolean(opts.discardTornTail),
    });
  } catch (e) {
    const error = e as Error & { code?: string; reason?: string };
    if (error.code === 'WAL_CORRUPTION') {
      err(`FAIL: recovery stopped, nothing applied: ${error.message}`);
      err('  --skip-corrupt recovers the durable prefix before the damage');
      return EXIT.DAMAGED;
    }
    throw e;
  }
  const { result, records } = recovery;
  if (opts.out) {
    let fd: number;
    try {
      fd = fs.openSync(opts.out, 'wx');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new CliError(`--out ${opts.out} already exists (it is never overwritten)`, EXIT.USAGE);
      if (code === 'ENOENT') throw new CliError(`--out ${opts.out}: no such directory`, EXIT.USAGE);
      throw e;
    }
    try {
      let chunk: string[] = [];
      const flush = () => {
        if (chunk.length) fs.writeSync(fd, chunk.join(''));
        chunk = [];
      };
      for (const r of records) {
        chunk.push(jsonLine(recordJson(r, true)), '\n');
        if (chunk.length >= 2048) flush();
      }
      flush();
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    syncDir(path.dirname(path.resolve(opts.out)));
  }
  let deleted = 0;
  if (opts.deleteAfter) {
    for (const epoch of result.epochs) {
      fs.unlinkSync(segmentPath(target.dbPath, epoch));
      deleted += 1;
    }
    if (deleted) syncDir(path.dirname(target.dbPath));
  }
  const damaged = !result.tornTail && result.stopReason !== null;
  if (opts.json) {
    process.stdout.write(jsonLine({ ...result, out: opts.out ?? null, segmentsDeleted: deleted }) + '\n');
  } else {
    const first = result.epochs[0];
    const last = result.epochs[result.epochs.length - 1];
    const range = first === undefined ? 'none' : first === last ? `${first}` : `${first}..${last}`;
    const lines = [
      `recovered ${result.segmentsRecovered} segment(s), ${result.recordsApplied} record(s), ${result.bytesRead} bytes; epochs ${range}`,
    ];
    if (result.tornTail) lines.push(`torn tail: ${result.partialSegments.join(', ')}${opts.discardTornTail ? ' (deleted)' : ''}`);
    if (damaged) lines.push(`stopped early: ${result.stopReason}`, `not applied: ${result.partialSegments.join(', ')}`);
    if (opts.out) lines.push(`records written to ${opts.out} (JSON lines, fsynced)`);
    if (opts.deleteAfter) lines.push(`deleted ${deleted} applied segment(s)`);
    process.stdout.write(lines.join('\n') + '\n');
  }
  return damaged ? EXIT.DAMAGED : EXIT.OK;
}

function benchScript(): string {
  return path.resolve(__dirname, '..', '..', 'bench', 'run.js');
}

async function bench(suites: string[], opts: { quick?: boolean; list?: boolean; json?: boolean }): Promise<ExitCode> {
  const script = benchScript();
  if (!fs.existsSync(script)) {
    throw new CliError(
      `the benchmark harness (${script}) is not here: it ships with the source repository, not the npm package`,
      EXIT.USAGE,
    );
  }
  const args = ['--expose-gc', script, ...(opts.quick ? ['--quick'] : []), ...(opts.list ? ['--list'] : []), ...suites];
  const child = spawn(process.execPath, args, { stdio: 'inherit', cwd: path.dirname(path.dirname(script)) });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 : 3))));
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  return code as ExitCode;
}

// ---------------------------------------------------------------------------------------------
// the program

const DB_HELP = `<db> is the database path: its segments are the files <db>-wal-seg-<16 hex digits>
beside it. A single segment file can be given instead (inspect, verify, dump).`;

export function buildProgram(setExit: (code: ExitCode) => void): Command {
  const program = new Command('pwal');
  program
    .description('Inspect, verify, dump and recover parallel-wal logs; run the benchmark harness.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `\n${DB_HELP}\n\n${EXIT_CODES_HELP}\n`)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const run =
    <A extends unknown[]>(fn: (...a: A) => Promise<ExitCode>) =>
    async (...a: A) => setExit(await fn(...a));

  program
    .command('inspect')
    .description('one line per segment: epoch, format, records, bytes, certificate, status (ok/torn/corrupt/gap)')
    .argument('<db>', 'database path (or one segment file)')
    .option('--json', 'one JSON object per segment (u64 as decimal strings)')
    .addHelpText('after', `\n${DB_HELP}\nExits 0 whatever the segments' status (use verify to test); 2 or 3 on bad input / I/O errors.`)
    .action(run(inspect));

  program
    .command('verify')
    .description('check every checksum and the certificate chain; exit 0 when clean, 1 naming the first bad segment and record')
    .argument('<db>', 'database path (or one segment file)')
    .option('--allow-torn-tail', 'accept a torn last segment (recovery reports it rather than failing)')
    .option('--no-progress', 'no progress bar (it is only shown when stderr is a terminal)')
    .option('--json', 'print the verdict as one JSON object')
    .addHelpText('after', `\n${DB_HELP}\n\n${EXIT_CODES_HELP}`)
    .action(run(verify));

  program
    .command('dump')
    .description('print the durable records in replay order, as text or JSON lines (u64 exact, as decimal strings)')
    .argument('<db>', 'database path (or one segment file)')
    .option('--json', 'JSON lines; images base64-encoded')
    .option('--no-images', 'omit image contents (lengths only)')
    .option('--skip-corrupt', 'print the durable prefix before a corrupt segment (still exits 1)')
    .addHelpText('after', `\n${DB_HELP}\nA torn tail ends the dump with a note on stderr (exit 0); corruption exits 1 after the records before it.`)
    .action(run(dump));

  program
    .command('recover')
    .description('run recovery (as the library does at open) and report what it applied')
    .argument('<db>', 'database path')
    .option('--skip-corrupt', 'stop at the first bad segment and recover the prefix before it (exit 1 if anything was left)')
    .option('--delete-after', 'delete the applied segments afterwards (needs --out, or --force)')
    .option('--discard-torn-tail', 'delete a torn last segment, as a writer continuing the log must')
    .addOption(new Option('--out <file>', 'write the recovered records as JSON lines (fsynced) to a new file'))
    .option('--force', 'allow --delete-after without --out')
    .option('--json', 'print the recovery result as one JSON object')
    .addHelpText('after', `\n${EXIT_CODES_HELP}`)
    .action(run(recover));

  program
    .command('bench')
    .description('run the benchmark harness (from a source checkout): all suites, or the ones named')
    .argument('[suite...]', 'suite names (bench/suites/<name>.js)')
    .option('--quick', 'short run (about two minutes for all suites)')
    .option('--list', 'list the suites and exit')
    .action(run(bench));

  return program;
}

async function main(argv: string[]): Promise<ExitCode> {
  let code: ExitCode = EXIT.OK;
  const program = buildProgram((c) => (code = c));
  if (argv.length <= 2) {
    program.outputHelp({ error: true });
    return EXIT.USAGE;
  }
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end with exit code 0; every parse error is a usage error.
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (e instanceof CliError) {
      err(`pwal: ${e.message}`);
      return e.exitCode;
    }
    const error = e as Error & { code?: string };
    err(`pwal: ${error.code ? error.code + ': ' : ''}${error.message ?? String(e)}`);
    return error.code && /^ERR_INVALID_ARG/.test(error.code) ? EXIT.USAGE : EXIT.IO;
  }
  return code;
}

if (require.main === module) {
  main(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      err(`pwal: internal error: ${(e as Error).stack ?? e}`);
      process.exitCode = EXIT.IO;
    },
  );
}
