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

const world = 'airssys:actor/component@0.2.0';
const witDir = path.join(testdata, '..', 'wit', 'airssys-actor-0.2.0');
let witSource = fs.readFileSync(path.join(witDir, 'actor.wit'), 'utf8');
const depsDir = path.join(witDir, 'deps');
for (const dir of fs.readdirSync(depsDir).sort()) {
  for (const file of fs.readdirSync(path.join(depsDir, dir)).filter((f) => f.endsWith('.wit')).sort()) {
    const text = fs.readFileSync(path.join(depsDir, dir, file), 'utf8');
    const pkg = /^package\s+([^;\s]+)\s*;[ \t]*$/m.exec(text);
    if (!pkg) throw new Error(`actor WIT: no package statement in deps/${dir}/${file}`);
    witSource +=
      `\n// deps/${dir}/${file}\n` +
      text.slice(0, pkg.index).replace(/^(\s*)\/\/\//gm, '$1//') +
      `package ${pkg[1]} {` +
      text.slice(pkg.index + pkg[0].length) +
      '}\n';
  }
}

const dir = path.join(scratch, 'goactor');
const cores = fs.readdirSync(dir).filter((f) => /^[a-z0-9_]+\.core\.wasm$/.test(f)).sort();
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
