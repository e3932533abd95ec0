// Builds kvdraft.wasm (src/kvdraft/): a component of wasi:keyvalue
// 0.2.0-draft, for the host's support of the older draft. Called by
// build.sh after it compiled <scratch>/kvdraft.core.wasm:
//
//   node tools/kvdraft.mjs <testdata dir> <scratch dir>
//
// The WIT is src/kvdraft/kvdraft.wit followed by the draft package of
// wit/wasi-keyvalue-0.2.0-draft as one nested `package { ... }` block; the
// component's WIT must print exactly like a component made from the world.
import fs from 'node:fs';
import path from 'node:path';

import { componentEmbed, componentNew, componentWit } from '@bytecodealliance/jco-transpile/wasm-tools';

const [testdata, scratch] = process.argv.slice(2);
if (!testdata || !scratch) {
  console.error('usage: node kvdraft.mjs <testdata dir> <scratch dir>');
  process.exit(2);
}
const t0 = Date.now();
const world = 'airssys:test-kvdraft/kv-draft@0.1.0';
let witSource = fs.readFileSync(path.join(testdata, 'src', 'kvdraft', 'kvdraft.wit'), 'utf8');
const pkgDir = path.join(testdata, '..', 'wit', 'wasi-keyvalue-0.2.0-draft');
witSource += '\npackage wasi:keyvalue@0.2.0-draft {\n';
for (const file of fs.readdirSync(pkgDir).filter((f) => f.endsWith('.wit')).sort()) {
  const text = fs.readFileSync(path.join(pkgDir, file), 'utf8');
  const pkg = /^package\s+([^;\s]+)\s*;[ \t]*$/m.exec(text);
  witSource +=
    `// ${file}\n` +
    text.slice(0, pkg ? pkg.index : 0).replace(/^(\s*)\/\/\//gm, '$1//') +
    (pkg ? text.slice(pkg.index + pkg[0].length) : text);
}
witSource += '}\n';
const embed = (binary) => componentEmbed({ binary, dummy: binary === undefined, witSource, world, stringEncoding: 'utf8' });
const want = (await componentWit(await componentNew(await embed(undefined)))).trimEnd();
const bytes = await componentNew(await embed(fs.readFileSync(path.join(scratch, 'kvdraft.core.wasm'))));
const got = (await componentWit(bytes)).trimEnd();
if (got !== want) throw new Error(`kvdraft.wasm: its WIT is not the world's:\n${got}\n-- want --\n${want}`);
const out = path.join(testdata, 'kvdraft.wasm');
fs.writeFileSync(out + '.tmp', bytes);
fs.renameSync(out + '.tmp', out);
console.log(`== kvdraft.wasm: ${bytes.length} bytes (${Date.now() - t0} ms)`);
console.log(got);
