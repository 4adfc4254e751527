// Exit codes and the error type of the `pwal` command-line tool.

/** Exit codes of `pwal` (documented in `pwal --help` and the README). */
export const EXIT = Object.freeze({
  /** Success: the log is clean (or the command did what it was asked). */
  OK: 0,
  /** The log is damaged: a corrupt segment, a certificate gap, a torn tail (verify), or a recovery that stopped early. */
  DAMAGED: 1,
  /** Usage error or bad input: unknown option, missing path, a file that is not a segment or a database with segments. */
  USAGE: 2,
  /** An I/O error (permission denied, disk error) or an unexpected failure: nothing was learnt about the log. */
  IO: 3,
});

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error that ends the command with a message on stderr and a given exit code. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export const EXIT_CODES_HELP = `Exit codes:
  0  success; for verify: every segment is clean
  1  the log is damaged: a corrupt segment, a certificate gap or a torn tail (verify),
     or recovery could not apply every segment (recover, dump)
  2  usage error or bad input: unknown option, missing path, a directory, or a file that
     is neither a segment nor a database with segments beside it
  3  I/O error (permission denied, disk error) or an unexpected failure`;
