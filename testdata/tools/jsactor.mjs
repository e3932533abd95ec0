// Builds actor2_js.wasm: the JavaScript actor src/jsactor/actor.js for world
// airssys:actor/component@0.2.0 (wit/airssys-actor-0.2.0/ of this
// repository), made into a component by componentize-js 0.23.0 with the
// bindings it generates from that WIT. Called by testdata/build.sh:
//
//   node tools/jsactor.mjs <testdata dir> <scratch dir>
//
// Kept apart from build.mjs, whose own hash decides whether types.wasm is
// rebuilt.
//
// Every WASI feature of componentize-js is disabled (stdio, random, clocks,
// http, fetch-event), so the component imports no WASI at all: only
// airssys:actor/types, airssys:actor/messaging and wasi:logging/logging, and
// it exports airssys:actor/actor. The build fails unless its WIT prints
// exactly like a component made from the world itself. Without stdio a JS
// exception is not printed anywhere, which is why actor.js catches every
// exception and turns it into an err value (and a wasi:logging line).
//
// The snapshot componentize-js takes is not byte-for-byte reproducible (the
// pre-initialized engine heap differs from run to run), so actor2_js.wasm
// is rebuilt only when its inputs changed: src/jsactor/inputs.sha256 records
// the hash of the inputs (actor.js, every file of the WIT directory, the npm
// lock file, the componentize options and this script) and the plain sha256
// of the actor2_js.wasm built from them, and is committed with it. Set
// FORCE=1 to rebuild anyway. As in build.mjs, the work directory
// componentize-js records in the snapshot is pinned, and the source is
// passed as a string so that the checkout path is not recorded either.
//
// Every run checks the fixture, a new one before it is written: its WIT must
// print like the world's, and src/jsactor/check.mjs runs it under Node (jco
// transpiles it into <scratch>/jsactor-check, validating it on the way)
// against a JS model of the host that counts live handles.
//
// No glue patch is needed (unlike types.wasm in build.mjs): nothing this
// actor passes lowers a u32 >= 2^31 or a negative 64-bit value; see
// src/jsactor/actor.js for how it drops its resources.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';

import { componentEmbed, componentNew, componentWit } from '@bytecodealliance/jco-transpile/wasm-tools';
import { transpileBytes } from '@bytecodealliance/jco-transpile';
import { componentize } from '@bytecodealliance/componentize-js';

const toolsDir = path.dirname(fileURLToPath(import.meta.url));
const [testdata, scratch] = process.argv.slice(2);
if (!testdata || !scratch) {
  console.error('usage: node jsactor.mjs <testdata dir> <scratch dir>');
  process.exit(2);
}

const fixture = 'actor2_js.wasm';
const srcDir = path.join(testdata, 'src', 'jsactor');
const sourceFile = path.join(srcDir, 'actor.js');
const stampFile = path.join(srcDir, 'inputs.sha256');
const witDir = path.join(testdata, '..', 'wit', 'airssys-actor-0.2.0');
const world = 'airssys:actor/component@0.2.0';
const options = {
  sourceName: 'actor.js',
  worldName: 'component',
  disableFeatures: ['stdio', 'random', 'clocks', 'http', 'fetch-event'],
};

// Writes atomically so an interrupted build never leaves a truncated fixture.
function writeFixture(name, bytes) {
  const out = path.join(testdata, name);
  fs.writeFileSync(out + '.tmp', bytes);
  fs.renameSync(out + '.tmp', out);
}

// The files of dir, recursively, as sorted paths relative to it.
function walk(dir, rel = '') {
  return fs
    .readdirSync(path.join(dir, rel), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(dir, path.join(rel, e.name)) : [path.join(rel, e.name)]))
    .sort();
}

// The world's WIT as one source string (jco's embed panics offline when given
// a path): actor.wit, then every deps/<dir>/*.wit in the nested
// `package name { ... }` form. Used only for the WIT check.
function witSource() {
  let text = fs.readFileSync(path.join(witDir, 'actor.wit'), 'utf8');
  const depsDir = path.join(witDir, 'deps');
  for (const dir of fs.existsSync(depsDir) ? fs.readdirSync(depsDir).sort() : []) {
    for (const file of fs.readdirSync(path.join(depsDir, dir)).filter((f) => f.endsWith('.wit')).sort()) {
      const dep = fs.readFileSync(path.join(depsDir, dir, file), 'utf8');
      const pkg = /^package\s+([^;\s]+)\s*;[ \t]*$/m.exec(dep);
      if (!pkg) throw new Error(`actor WIT: no package statement in deps/${dir}/${file}`);
      text +=
        `\n// deps/${dir}/${file}\n` +
        dep.slice(0, pkg.index).replace(/^(\s*)\/\/\//gm, '$1//') +
        `package ${pkg[1]} {` +
        dep.slice(pkg.index + pkg[0].length) +
        '}\n';
    }
  }
  return text;
}

async function checkWit(bytes) {
  const embedded = await componentEmbed({ dummy: true, witSource: witSource(), world, stringEncoding: 'utf8' });
  const want = (await componentWit(await componentNew(embedded))).trimEnd();
  const got = (await componentWit(bytes)).trimEnd();
  if (got !== want) {
    throw new Error(`${fixture}: its WIT is not the world ${world}'s:\n${got}\n-- want --\n${want}`);
  }
  return got;
}

// Transpiles the component with jco (which validates it) into
// <scratch>/jsactor-check and runs src/jsactor/check.mjs on it.
async function run(bytes) {
  const dir = path.join(scratch, 'jsactor-check');
  fs.rmSync(dir, { recursive: true, force: true });
  const { files } = await transpileBytes(bytes, { name: 'actor2_js', instantiation: { tag: 'async' }, outDir: dir });
  for (const [file, data] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, data);
  }
  const { check } = await import(pathToFileURL(path.join(srcDir, 'check.mjs')).href);
  console.log(`== ${fixture}: runs under jco: ${await check(dir, 'actor2_js.js')}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

const sha256 = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
};
const inputs = sha256(
  fs.readFileSync(sourceFile),
  ...walk(witDir).flatMap((f) => [f, fs.readFileSync(path.join(witDir, f))]),
  fs.readFileSync(path.join(toolsDir, 'package-lock.json')),
  JSON.stringify(options),
  fs.readFileSync(fileURLToPath(import.meta.url)), // this script
);
// output is the plain sha256 of actor2_js.wasm (as sha256sum prints it)
const stampWant = (out) => `inputs ${inputs}\noutput ${createHash('sha256').update(out).digest('hex')}\n`;

const out = path.join(testdata, fixture);
const t0 = Date.now();
let bytes;
let kept = false;
if (
  process.env.FORCE !== '1' &&
  fs.existsSync(out) &&
  fs.existsSync(stampFile) &&
  fs.readFileSync(stampFile, 'utf8') === stampWant(fs.readFileSync(out))
) {
  bytes = fs.readFileSync(out);
  kept = true;
  console.log(`== ${fixture}: inputs unchanged, kept (FORCE=1 rebuilds)`);
} else {
  const workRoot = path.join('/tmp', 'airssys-testdata-componentize-jsactor');
  fs.rmSync(workRoot, { recursive: true, force: true });
  fs.mkdirSync(workRoot, { recursive: true });
  const savedTmp = process.env.TMPDIR;
  const savedRandom = Math.random;
  process.env.TMPDIR = workRoot;
  Math.random = () => 0.5;
  try {
    ({ component: bytes } = await componentize(fs.readFileSync(sourceFile, 'utf8'), {
      ...options,
      witPath: witDir,
    }));
  } finally {
    Math.random = savedRandom;
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    fs.rmSync(workRoot, { recursive: true, force: true });
  }
  await checkWit(bytes); // before anything is written
  await run(bytes);
  writeFixture(fixture, bytes);
  fs.writeFileSync(stampFile, stampWant(bytes));
}
const wit = await checkWit(bytes);
if (kept) await run(bytes);
console.log(`== ${fixture}: ${bytes.length} bytes (${Date.now() - t0} ms)`);
console.log(wit);
