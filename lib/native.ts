// Loads the addon once per environment (main thread or worker): a matching prebuild from
// prebuilds/, else the local build/Release. Every other module reaches native code through here.
import * as path from 'node:path';
import nodeGypBuild = require('node-gyp-build');

/** The raw addon surface. Internal: the public API wraps and validates it. */
export interface NativeBinding {
  crc32c(data: ArrayBufferView | ArrayBuffer, initial?: number): number;
  crc32cWith(impl: string, data: ArrayBufferView | ArrayBuffer, initial?: number): number;
  crc32cImplementation(): string;
  crc32cImplementations(): string[];
  [name: string]: unknown;
}

const packageRoot = path.join(__dirname, '..');

/** Absolute path of the `.node` file that was loaded. */
export const nativeAddonPath: string = nodeGypBuild.path(packageRoot);

export const native: NativeBinding = nodeGypBuild(packageRoot);
