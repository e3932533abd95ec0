// Builds the Go actor components goactor_<name>.wasm from the core modules
// build.sh compiled into <scratch>/goactor/<name>.core.wasm (standard Go,
// GOOS=wasip1 GOARCH=wasm -buildmode=c-shared, with the guest package):
// embed the WIT of world airssys:actor/component@0.2.0, then component-new
// with the WASI preview1 reactor adapter of the pinned jco (its sha256 is
// checked). The component imports the WASI interfaces the adapter needs
// besides the world's own; its WIT is checked to export the actor
// interface and import messaging and logging.
//
//   node src/goactor/build.mjs <testdata dir> <scratch dir>
//
// jco comes from tools/node_modules (npm ci by build.sh). The WIT goes in
// as one source string, as in tools/actors.mjs.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [testdata, scratch] = process.argv.slice(2);
if (!testdata || !scratch) {
  console.error('usage: node src/goactor/build.mjs <testdata dir> <scratch dir>');
  process.exit(2);
}
const require = createRequire(path.join(testdata, 'tools', 'package.json'));
const { componentEmbed, componentNew, componentWit } = await import(
  pathToFileURL(require.resolve('@bytecodealliance/jco-transpile/wasm-tools')).href
);

// The adapter of jco 1.35.0 (tools/package-lock.json).
const adapterSHA256 = 'b857310c4753c8fafaa0f890e9ccf978dc3d9dbe8804b1125291a627485041d0';
const adapterPath = path.join(testdata, 'tools', 'node_modules/@bytecodealliance/jco/lib/wasi_snapshot_preview1.reactor.wasm');
const adapter = fs.readFileSync(adapterPath);
const got = createHash('sha256').update(adapter).digest('hex');
if (got !== adapterSHA256) {
  throw new Error(`${adapterPath}: sha256 ${got}, want ${adapterSHA256}`);
}

// The world of the guest SDK: actor world 0.2.0 plus key-value
// (wit/airssys-guest). The WIT source is its file followed by one nested
// `package name { ... }` block per package it uses, holding all of that
// package's files. A component imports only what its core module imports.
const world = 'airssys:guest/actor@0.2.0';
const witRoot = path.join(testdata, '..', 'wit');
let witSource = fs.readFileSync(path.join(witRoot, 'airssys-guest', 'world.wit'), 'utf8');
const packages = new Map();
const addPackages = (dir) => {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      addPackages(p);
      continue;
    }
    if (!entry.name.endsWith('.wit')) continue;
    const text = fs.readFileSync(p, 'utf8');
    const pkg = /^package\s+([^;\s]+)\s*;[ \t]*$/m.exec(text);
    if (!pkg) throw new Error(`${p}: no package statement`);
    const body = `// ${path.relative(witRoot, p)}\n` + text.slice(0, pkg.index).replace(/^(\s*)\/\/\//gm, '$1//') +
      text.slice(pkg.index + pkg[0].length);
    if (!packages.has(pkg[1])) packages.set(pkg[1], new Map());
    packages.get(pkg[1]).set(body.replace(/^\/\/ [^\n]*\n/, ''), body); // one copy of a file found twice
  }
};
// airssys-storage's own copy of wasi:keyvalue (its deps/) is the same files.
for (const d of ['airssys-actor-0.2.0', 'wasi-keyvalue-0.2.0-draft2', 'airssys-storage']) {
  addPackages(path.join(witRoot, d));
}
for (const [name, files] of packages) {
  witSource += `\npackage ${name} {\n${[...files.values()].join('\n')}}\n`;
}

const dir = path.join(scratch, 'goactor');
const only = process.argv.slice(4);
const cores = fs
  .readdirSync(dir)
  .filter((f) => /^[a-z0-9_]+\.core\.wasm$/.test(f))
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.core\.wasm$/, '')))
  .sort();
if (cores.length === 0) throw new Error(`no Go actor core modules in ${dir}`);
for (const file of cores) {
  const t0 = Date.now();
  const name = `goactor_${file.replace(/\.core\.wasm$/, '')}.wasm`;
  const embedded = await componentEmbed({
    binary: fs.readFileSync(path.join(dir, file)),
    witSource,
    world,
    stringEncoding: 'utf8',
  });
  const bytes = await componentNew(embedded, [['wasi_snapshot_preview1', adapter]]);
  const wit = (await componentWit(bytes)).trimEnd();
  for (const want of [
    /^\s*export airssys:actor\/actor@0\.2\.0;$/m,
    /^\s*import airssys:actor\/messaging@0\.2\.0;$/m,
    /^\s*import wasi:logging\/logging@0\.1\.0-draft;$/m,
  ]) {
    if (!want.test(wit)) throw new Error(`${name}: its WIT lacks ${want}:\n${wit}`);
  }
  const out = path.join(testdata, name);
  fs.writeFileSync(out + '.tmp', bytes);
  fs.renameSync(out + '.tmp', out);
  console.log(`== ${name}: ${bytes.length} bytes (${Date.now() - t0} ms)`);
  console.log(wit);
}
