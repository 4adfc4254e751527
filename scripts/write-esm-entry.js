// Writes dist/index.mjs: an ES module re-exporting every named export of the CommonJS build,
// so `import { crc32c } from 'parallel-wal'` works without a second compilation.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const dist = path.join(__dirname, '..', 'dist');
// The export names are read off the built module itself (it loads the addon, which `npm install`
// has built or found by then), so `export *` re-exports are included too.
const names = Object.keys(require(path.join(dist, 'index.js'))).filter((n) => n !== '__esModule' && n !== 'default').sort();
const out = ["import cjs from './index.js';", `export const { ${names.join(', ')} } = cjs;`, 'export default cjs;', ''].join('\n');
fs.writeFileSync(path.join(dist, 'index.mjs'), out);
