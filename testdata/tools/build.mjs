// Builds the component fixtures with the pinned npm toolchain.
// Called by testdata/build.sh (which builds the core modules first):
//
//   node tools/build.mjs <testdata dir> <scratch dir>
//
// The scratch dir must already hold wasi.core.wasm (the C reactor module
// for wasi.wasm). Every component is checked by printing its WIT.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';

import {
  parse,
  componentEmbed,
  componentNew,
  componentWit,
} from '@bytecodealliance/jco-transpile/wasm-tools';
import { componentize } from '@bytecodealliance/componentize-js';

const toolsDir = path.dirname(fileURLToPath(import.meta.url));
const [testdata, scratch] = process.argv.slice(2);
if (!testdata || !scratch) {
  console.error('usage: node build.mjs <testdata dir> <scratch dir>');
  process.exit(2);
}
const src = (...p) => path.join(testdata, 'src', ...p);

// Writes atomically so an interrupted build never leaves a truncated fixture.
function writeFixture(name, bytes) {
  const out = path.join(testdata, name);
  fs.writeFileSync(out + '.tmp', bytes);
  fs.renameSync(out + '.tmp', out);
}

async function report(name, bytes, started) {
  const ms = Date.now() - started;
  console.log(`== ${name}: ${bytes.length} bytes (${ms} ms)`);
  console.log((await componentWit(bytes)).trimEnd());
}

// Components written in the component text format: every src/<name>/<name>.wat
// (src/core holds plain core modules, built by build.sh with wat2wasm).
const watComponents = fs
  .readdirSync(path.join(testdata, 'src'))
  .filter((name) => name !== 'core' && fs.existsSync(src(name, `${name}.wat`)))
  .sort();
for (const name of watComponents) {
  const t0 = Date.now();
  const bytes = await parse(fs.readFileSync(src(name, `${name}.wat`), 'utf8'));
  writeFixture(`${name}.wasm`, bytes);
  await report(`${name}.wasm`, bytes, t0);
}

// wasi.wasm: C reactor module + WIT + WASI preview1 reactor adapter.
{
  const t0 = Date.now();
  const core = fs.readFileSync(path.join(scratch, 'wasi.core.wasm'));
  const adapter = fs.readFileSync(
    path.join(
      toolsDir,
      'node_modules/@bytecodealliance/jco/lib/wasi_snapshot_preview1.reactor.wasm',
    ),
  );
  const embedded = await componentEmbed({
    binary: core,
    witSource: fs.readFileSync(src('wasi', 'wasi.wit'), 'utf8'),
    world: 'wasi-guest',
    stringEncoding: 'utf8',
  });
  const bytes = await componentNew(embedded, [['wasi_snapshot_preview1', adapter]]);
  writeFixture('wasi.wasm', bytes);
  await report('wasi.wasm', bytes, t0);
}

// types.wasm: JavaScript through componentize-js. Only stdio stays on (so a
// JS exception is reported on stderr before the trap); http, fetch-event,
// clocks and random are off, which drops wasi:http, wasi:random and
// wasi:clocks/monotonic-clock from the imports.
//
// The snapshot componentize-js takes is not byte-for-byte reproducible (the
// pre-initialized engine heap differs from run to run), so
// types.wasm is rebuilt only when its inputs changed: src/types/inputs.sha256
// records the hash of the inputs and of the output built from them, and is
// committed with it. Set FORCE=1 to rebuild anyway.
//
// componentize-js 0.23.0 generates JS glue that mis-lowers some values
// leaving JS as flat core values (a scalar export result, or an argument of
// an imported function):
//  * u32: the glue converts with `val >>> 0`, which makes a double for
//    values >= 2^31, and the engine then reads the low 32 bits of the
//    double's bit pattern (4294967295 comes out as 4292870144).
//  * i64 core values: the engine's coreabi_from_bigint64 accepts only
//    0 <= v < 2^64 and aborts the call (unreachable) on a negative BigInt,
//    which the glue produces for a negative s64, and for import arguments
//    that put a negative s32 or f64 into an i64 slot of a variant (e.g.
//    shape.rect with a negative x, or shape.circle(-2.5)).
// patchBindings() edits the generated glue (the initializer.js that
// componentize-js writes) so the same bits reach the engine in a form it
// reads correctly: toUint32 (used only for lowering) keeps the value as an
// int32, toInt64 returns the unsigned BigInt, and every imported core
// function is wrapped to pass BigInt arguments as unsigned 64-bit values.
// (Lifting an s64 into JS yields the unsigned BigInt of the same bits; the
// echo and relay functions only pass values through, so that is harmless.)
//
// componentize-js also records the path of its work directory in the
// snapshot. That directory is normally random (os.tmpdir() + a hash of
// Math.random()), so it is pinned here; the source is passed as a string
// (the older call form) because with a source path the checkout path would
// be recorded instead.
function patchBindings(js) {
  const replaceOnce = (re, replacement) => {
    const n = (js.match(re) || []).length;
    if (n !== 1) {
      throw new Error(
        `patchBindings: expected one match of ${re} in the componentize-js glue, found ${n}; ` +
          'check whether this componentize-js version still needs the patch',
      );
    }
    js = js.replace(re, replacement);
  };
  replaceOnce(
    /function toUint32\(val\) \{\s*return val >>> 0;\s*\}/g,
    'function toUint32(val) {\n  return val >> 0; // patched: same 32 bits, as an int32\n}',
  );
  replaceOnce(
    /function toInt64\(val\) \{\s*const converted = BigInt\(val\)\s*return BigInt\.asIntN\(64, converted\);\s*\}/g,
    'function toInt64(val) {\n  return BigInt.asUintN(64, BigInt(val)); // patched: same 64 bits, unsigned\n}',
  );
  // The imported core functions come from one destructuring of $bindings.
  const decl = /^let \[([^\]]*)\] = \$bindings;\n/m.exec(js);
  const imports = decl ? decl[1].split(',').map((n) => n.trim()).filter((n) => n.startsWith('$import_')) : [];
  if (imports.length === 0) {
    throw new Error('patchBindings: no imported functions found in the componentize-js glue');
  }
  const wrap = [
    '// patched: pass BigInt arguments of imported functions as unsigned 64-bit values',
    'const airssysU64Args = (f) => function (...args) {',
    "  return f.apply(this, args.map((a) => (typeof a === 'bigint' ? BigInt.asUintN(64, a) : a)));",
    '};',
    ...imports.map((n) => `${n} = airssysU64Args(${n});`),
    '',
  ].join('\n');
  js = js.slice(0, decl.index + decl[0].length) + wrap + js.slice(decl.index + decl[0].length);
  return js;
}

// Runs fn while writes of initializer.js go through patchBindings.
// componentize.js imports writeFile from node:fs/promises; syncBuiltinESMExports
// makes that binding see the wrapper.
async function withPatchedBindings(fn) {
  const realWriteFile = fsp.writeFile;
  let patched = 0;
  fsp.writeFile = (file, data, ...rest) => {
    if (path.basename(String(file)) === 'initializer.js') {
      data = patchBindings(String(data));
      patched++;
    }
    return realWriteFile.call(fsp, file, data, ...rest);
  };
  syncBuiltinESMExports();
  let result;
  try {
    result = await fn();
  } finally {
    fsp.writeFile = realWriteFile;
    syncBuiltinESMExports();
  }
  if (patched !== 1) throw new Error(`patchBindings ran ${patched} times, expected once`);
  return result;
}

const typesOptions = {
  sourceName: 'types.js',
  worldName: 'types-guest',
  disableFeatures: ['http', 'fetch-event', 'clocks', 'random'],
};
const sha256 = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
};
const typesStamp = src('types', 'inputs.sha256');
const typesInputs = sha256(
  fs.readFileSync(src('types', 'types.js')),
  fs.readFileSync(src('types', 'types.wit')),
  fs.readFileSync(path.join(toolsDir, 'package-lock.json')),
  JSON.stringify(typesOptions),
  fs.readFileSync(fileURLToPath(import.meta.url)), // this script (options, glue patch)
);
const typesOut = path.join(testdata, 'types.wasm');
// output is the plain sha256 of types.wasm (as sha256sum prints it)
const typesStampWant = (out) =>
  `inputs ${typesInputs}\noutput ${createHash('sha256').update(out).digest('hex')}\n`;
if (
  process.env.FORCE !== '1' &&
  fs.existsSync(typesOut) &&
  fs.existsSync(typesStamp) &&
  fs.readFileSync(typesStamp, 'utf8') === typesStampWant(fs.readFileSync(typesOut))
) {
  const bytes = fs.readFileSync(typesOut);
  console.log('== types.wasm: inputs unchanged, kept (FORCE=1 rebuilds)');
  await report('types.wasm', bytes, Date.now());
} else {
  const t0 = Date.now();
  const workRoot = path.join('/tmp', 'airssys-testdata-componentize');
  fs.rmSync(workRoot, { recursive: true, force: true });
  fs.mkdirSync(workRoot, { recursive: true });
  const savedTmp = process.env.TMPDIR;
  const savedRandom = Math.random;
  process.env.TMPDIR = workRoot;
  Math.random = () => 0.5;
  let component;
  try {
    ({ component } = await withPatchedBindings(() =>
      componentize(fs.readFileSync(src('types', 'types.js'), 'utf8'), {
        ...typesOptions,
        witPath: src('types', 'types.wit'),
      }),
    ));
  } finally {
    Math.random = savedRandom;
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    fs.rmSync(workRoot, { recursive: true, force: true });
  }
  writeFixture('types.wasm', component);
  fs.writeFileSync(typesStamp, typesStampWant(component));
  await report('types.wasm', component, t0);
}
