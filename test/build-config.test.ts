// binding.gyp (install builds, prebuilds) and CMakeLists.txt (cmake-js, sanitizers, ctest) must
// compile the same sources with the same defines, or the two builds silently diverge.
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..');

function gypTarget(): { sources: string[]; defines: string[] } {
  // binding.gyp is a Python literal that happens to be JSON-compatible here (no comments).
  const gyp = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8'));
  const target = gyp.targets.find((t: { target_name: string }) => t.target_name === 'parallel_wal');
  return { sources: target.sources, defines: target.defines };
}

function cmakeList(name: string): string[] {
  const text = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8');
  const m = text.match(new RegExp(`set\\(${name}\\s+([^)]*)\\)`));
  if (!m) throw new Error(`CMakeLists.txt has no set(${name} ...)`);
  return m[1].split(/\s+/).filter(Boolean);
}

test('binding.gyp and CMakeLists.txt compile the same sources', () => {
  const gyp = gypTarget().sources.slice().sort();
  const cmake = [...cmakeList('PWAL_CORE_SOURCES'), ...cmakeList('PWAL_BINDING_SOURCES')].sort();
  expect(cmake).toEqual(gyp);
});

test('binding.gyp and CMakeLists.txt use the same addon defines', () => {
  expect(cmakeList('PWAL_ADDON_DEFINES').sort()).toEqual(gypTarget().defines.slice().sort());
});

test('every .cc file under native/core and native/binding is built', () => {
  const gyp = new Set(gypTarget().sources);
  for (const dir of ['native/core', 'native/binding']) {
    for (const f of fs.readdirSync(path.join(root, dir))) {
      if (f.endsWith('.cc')) expect(gyp).toContain(`${dir}/${f}`);
    }
  }
});

test('the Node-free core does not include Node headers', () => {
  for (const f of fs.readdirSync(path.join(root, 'native/core'))) {
    const text = fs.readFileSync(path.join(root, 'native/core', f), 'utf8');
    expect(text).not.toMatch(/#include\s*[<"](napi|node_api|node)\.h[>"]/);
  }
});

test('no compile flag enables SSE4.2/AVX for the whole addon', () => {
  const gyp = fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8');
  const cmake = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8');
  for (const text of [gyp, cmake]) expect(text).not.toMatch(/-m(sse4|avx|pclmul|arch=native)/);
});
