import { crc32c, crc32cImplementation, crc32cImplementations, crc32cWith } from '../lib';
import { native } from '../lib/native';
import { catchError } from './helpers';

describe('crc32c', () => {
  test('check value of "123456789" is 0xE3069283', () => {
    expect(crc32c('123456789')).toBe(0xe3069283);
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  test('initial continues a previous value', () => {
    const a = Buffer.from('hello, ');
    const b = Buffer.from('world');
    expect(crc32c(b, crc32c(a))).toBe(crc32c(Buffer.concat([a, b])));
  });

  test('views respect their offset and length', () => {
    const backing = Buffer.from('xx123456789yy');
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 2, 9);
    expect(crc32c(view)).toBe(0xe3069283);
    expect(crc32c(new DataView(backing.buffer, backing.byteOffset + 2, 9))).toBe(0xe3069283);
    const ab = new ArrayBuffer(9);
    new Uint8Array(ab).set(Buffer.from('123456789'));
    expect(crc32c(ab)).toBe(0xe3069283);
    const u32 = new Uint32Array(ab.slice(0, 8));
    expect(crc32c(u32)).toBe(crc32c(Buffer.from('12345678')));
  });

  test('bad arguments throw typed errors naming the argument', () => {
    const cases: Array<[() => unknown, string, string, RegExp]> = [
      [() => crc32c(42 as never), 'TypeError', 'ERR_INVALID_ARG_TYPE', /"data"/],
      [() => crc32c(undefined as never), 'TypeError', 'ERR_INVALID_ARG_TYPE', /"data"/],
      [() => crc32c({} as never), 'TypeError', 'ERR_INVALID_ARG_TYPE', /"data"/],
      [() => crc32c(Buffer.alloc(1), -1), 'RangeError', 'ERR_OUT_OF_RANGE', /"initial"/],
      [() => crc32c(Buffer.alloc(1), 2 ** 32), 'RangeError', 'ERR_OUT_OF_RANGE', /"initial"/],
      [() => crc32c(Buffer.alloc(1), 1.5), 'RangeError', 'ERR_OUT_OF_RANGE', /"initial"/],
      [() => crc32c(Buffer.alloc(1), 'x' as never), 'TypeError', 'ERR_INVALID_ARG_TYPE', /"initial"/],
      [() => crc32cWith('nope' as never, Buffer.alloc(1)), 'RangeError', 'ERR_OUT_OF_RANGE', /"implementation"/],
    ];
    for (const [fn, name, code, message] of cases) {
      const err = catchError(fn);
      expect(err.name).toBe(name);
      expect(err.code).toBe(code);
      expect(err.message).toMatch(message);
    }
  });

  test('crc32cWith checks the implementation name and its arguments', () => {
    const other = process.arch === 'arm64' ? 'avx512' : 'arm';
    const cases: Array<[() => unknown, string, string, RegExp]> = [
      [() => crc32cWith(42 as never, Buffer.alloc(1)), 'TypeError', 'ERR_INVALID_ARG_TYPE', /"implementation"/],
      [() => crc32cWith(undefined as never, Buffer.alloc(1)), 'TypeError', 'ERR_INVALID_ARG_TYPE', /"implementation"/],
      [() => crc32cWith('portable-but-much-longer-than-any-name' as never, Buffer.alloc(1)), 'RangeError', 'ERR_OUT_OF_RANGE', /portable-but-much-longer-than-any-name/],
      [() => crc32cWith('portable\0' as never, Buffer.alloc(1)), 'RangeError', 'ERR_OUT_OF_RANGE', /"implementation"/],
      [() => crc32cWith(other as never, Buffer.alloc(1)), 'RangeError', 'ERR_OUT_OF_RANGE', /"implementation"/],
      [() => crc32cWith('portable', 7 as never), 'TypeError', 'ERR_INVALID_ARG_TYPE', /"data"/],
      [() => crc32cWith('portable', Buffer.alloc(1), -5), 'RangeError', 'ERR_OUT_OF_RANGE', /"initial"/],
    ];
    for (const [fn, name, code, message] of cases) {
      const err = catchError(fn);
      expect([err.name, err.code]).toEqual([name, code]);
      expect(err.message).toMatch(message);
    }
    expect(crc32cWith('portable', '123456789')).toBe(0xe3069283);
    expect(crc32cWith('portable', Buffer.from('56789'), crc32cWith('portable', '1234'))).toBe(0xe3069283);
  });

  test('the internal Uint8Array entry point is safe with any argument', () => {
    const crc32cU8 = native.crc32cU8 as (data: unknown, initial?: unknown) => number;
    const bytes = Buffer.from('xx123456789yy').subarray(2, 11);
    expect(crc32cU8(bytes) >>> 0).toBe(0xe3069283);
    expect(crc32cU8(Buffer.from('56789'), crc32c('1234')) >>> 0).toBe(0xe3069283);
    // Wider typed arrays: never reads past the view (their element count is below the byte
    // length), so the value covers a prefix; the public crc32c() never routes them here.
    const u32 = new Uint32Array([0x34333231, 0x38373635, 0x39]);
    expect(crc32cU8(u32) >>> 0).toBe(crc32c(Buffer.from('123')));
    // Non-typed-array data takes the generic path.
    expect(crc32cU8(new DataView(bytes.buffer, bytes.byteOffset, 9)) >>> 0).toBe(0xe3069283);
    const ab = new ArrayBuffer(9);
    new Uint8Array(ab).set(Buffer.from('123456789'));
    expect(crc32cU8(ab) >>> 0).toBe(0xe3069283);
    for (const [args, name, code] of [
      [[], 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      [['123'], 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      [[{ length: 5 }], 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      [[bytes, -1], 'RangeError', 'ERR_OUT_OF_RANGE'],
      [[bytes, 'x'], 'TypeError', 'ERR_INVALID_ARG_TYPE'],
    ] as Array<[unknown[], string, string]>) {
      const err = catchError(() => crc32cU8(...(args as [unknown, unknown])));
      expect([err.name, err.code]).toEqual([name, code]);
    }
  });

  test('every supported implementation agrees', () => {
    const impls = crc32cImplementations();
    expect(impls).toContain('portable');
    expect(impls).toContain(crc32cImplementation());
    const data = Buffer.alloc(100000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    const expected = crc32cWith('portable', data);
    for (const impl of impls) expect(crc32cWith(impl, data)).toBe(expected);
  });
});
