// Writes dist/index.mjs: an ES module re-exporting every named export of the CommonJS build,
// so `import { crc32c } from 'parallel-wal'` works without a second compilation.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const dist = path.join(__dirname, '..', 'dist');
const source = fs.readFileSync(path.join(dist, 'index.js'), 'utf8');
// tsc emits `exports.name = ...` or `Object.defineProperty(exports, "name", ...)` per export.
const names = new Set();
for (const m of source.matchAll(/Object\.defineProperty\(exports, "([A-Za-z_$][\w$]*)"/g)) names.add(m[1]);
for (const m of source.matchAll(/^exports\.([A-Za-z_$][\w$]*) = /gm)) names.add(m[1]);
names.delete('__esModule');
const list = [...names].sort();
const out = [
  "import cjs from './index.js';",
  `export const { ${list.join(', ')} } = cjs;`,
  'export default cjs;',
  '',
].join('\n');
fs.writeFileSync(path.join(dist, 'index.mjs'), out);
