// Builds the actor components actor_*.wasm and actor2_*.wasm (actor2_kv.wasm
// included, in a section of its own at the end). Called by
// testdata/build.sh after it compiled their core modules:
//
//   node tools/actors.mjs <testdata dir> <scratch dir>
//
// Kept apart from build.mjs because build.mjs is one of the inputs whose
// hash decides whether types.wasm (not reproducible) is rebuilt.
import fs from 'node:fs';
import path from 'node:path';

import { componentEmbed, componentNew, componentWit } from '@bytecodealliance/jco-transpile/wasm-tools';

const [testdata, scratch] = process.argv.slice(2);
if (!testdata || !scratch) {
  console.error('usage: node actors.mjs <testdata dir> <scratch dir>');
  process.exit(2);
}

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

// The actor components. Each world's core modules were compiled by build.sh
// into <scratch>/<prefix><name>.core.wasm:
// - world airssys:actor/component@0.1.0 (wit/airssys-actor/), prefix
//   actor_: each src/actors/<name>.c with actor_glue.c;
// - world airssys:actor/component@0.2.0 (wit/airssys-actor-0.2.0/), prefix
//   actor2_: a list of src/actors/<name>.c and every src/actors2/<name>.c,
//   with actors2/actor_glue2.c.
//
// The WIT goes in as one source string (a path makes jco's embed panic
// offline): actor.wit, followed by every deps/<dir>/*.wit rewritten into
// the nested `package name { ... }` form.
//
// Every component's WIT must print exactly like a component made from the
// world itself (all imports used, which the glue ensures): imports
// airssys:actor/types (type definitions only in 0.1.0; in 0.2.0 also the
// message and payload resources), airssys:actor/messaging and
// wasi:logging/logging, export airssys:actor/actor.
async function buildActors(witDirName, world, prefix) {
  const witDir = path.join(testdata, '..', 'wit', witDirName);
  let witSource = fs.readFileSync(path.join(witDir, 'actor.wit'), 'utf8');
  const depsDir = path.join(witDir, 'deps');
  for (const dir of fs.existsSync(depsDir) ? fs.readdirSync(depsDir).sort() : []) {
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
  const embedWorld = (binary, source) =>
    componentEmbed({ binary, dummy: binary === undefined, witSource: source, world, stringEncoding: 'utf8' });
  const worldWit = (await componentWit(await componentNew(await embedWorld(undefined, witSource)))).trimEnd();
  const pattern = new RegExp(`^${prefix}[a-z0-9_]+\\.core\\.wasm$`);
  const actors = fs
    .readdirSync(scratch)
    .filter((f) => pattern.test(f))
    .sort();
  if (actors.length === 0) throw new Error(`no ${prefix}*.core.wasm in ${scratch}`);
  for (const file of actors) {
    const t0 = Date.now();
    const name = file.replace(/\.core\.wasm$/, '.wasm');
    const bytes = await componentNew(await embedWorld(fs.readFileSync(path.join(scratch, file)), witSource));
    const wit = (await componentWit(bytes)).trimEnd();
    if (wit !== worldWit) {
      throw new Error(`${name}: its WIT is not the world ${world}'s:\n${wit}\n-- want --\n${worldWit}`);
    }
    writeFixture(name, bytes);
    await report(name, bytes, t0);
  }
}

// The WIT files under each of dirs (in deps/ too), grouped by package:
// package name -> [file name, text] pairs, sorted. A package found in two
// directories (wasi:keyvalue draft2 is both wit/wasi-keyvalue-0.2.0-draft2
// and the copy in wit/airssys-storage/deps/keyvalue) must have the same
// files with the same text there; it counts once.
function witPackages(dirs) {
  const found = new Map(); // package -> directory -> Map(file -> text)
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        walk(p);
        continue;
      }
      if (!e.name.endsWith('.wit')) continue;
      const text = fs.readFileSync(p, 'utf8');
      const pkg = /^package\s+([^;\s]+)\s*;[ \t]*$/m.exec(text);
      if (!pkg) throw new Error(`WIT: no package statement in ${p}`);
      if (!found.has(pkg[1])) found.set(pkg[1], new Map());
      const byDir = found.get(pkg[1]);
      if (!byDir.has(dir)) byDir.set(dir, new Map());
      byDir.get(dir).set(e.name, text);
    }
  };
  for (const dir of dirs) walk(dir);
  const packages = new Map();
  for (const [name, byDir] of [...found].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [[firstDir, files], ...others] = [...byDir];
    const want = JSON.stringify([...files].sort());
    for (const [dir, other] of others) {
      if (JSON.stringify([...other].sort()) !== want) {
        throw new Error(`WIT: package ${name} differs between ${firstDir} and ${dir}`);
      }
    }
    packages.set(name, [...files].sort());
  }
  return packages;
}

// The key-value actor actor2_kv.wasm (src/actorskv/): world
// airssys:test-kv/kv-actor@0.1.0 in src/actorskv/kv-actor.wit, which includes
// airssys:actor/component@0.2.0 and imports wasi:keyvalue/{store, atomics,
// batch}@0.2.0-draft2 and airssys:storage/usage@0.1.0. build.sh compiled its
// core module into <scratch>/kv/actor2_kv.core.wasm (a subdirectory, so that
// the actor2_ section does not take it for one of its own).
//
// The WIT source is kv-actor.wit followed by one nested `package name { ... }`
// block per package of wit/airssys-actor-0.2.0, wit/wasi-keyvalue-0.2.0-draft2
// and wit/airssys-storage, holding all of that package's files (a package
// split over several files cannot be given as several blocks). As for the
// other actors, the component's WIT must print exactly like the world's.
async function buildKvActor() {
  const world = 'airssys:test-kv/kv-actor@0.1.0';
  const name = 'actor2_kv.wasm';
  const t0 = Date.now();
  let witSource = fs.readFileSync(path.join(testdata, 'src', 'actorskv', 'kv-actor.wit'), 'utf8');
  const witRoot = path.join(testdata, '..', 'wit');
  const packages = witPackages(
    ['airssys-actor-0.2.0', 'wasi-keyvalue-0.2.0-draft2', 'airssys-storage'].map((d) => path.join(witRoot, d)),
  );
  for (const [pkgName, files] of packages) {
    witSource += `\npackage ${pkgName} {\n`;
    for (const [file, text] of files) {
      const pkg = /^package\s+([^;\s]+)\s*;[ \t]*$/m.exec(text);
      witSource +=
        `// ${file}\n` + text.slice(0, pkg.index).replace(/^(\s*)\/\/\//gm, '$1//') + text.slice(pkg.index + pkg[0].length);
    }
    witSource += '}\n';
  }
  const embedWorld = (binary) =>
    componentEmbed({ binary, dummy: binary === undefined, witSource, world, stringEncoding: 'utf8' });
  const dummy = await embedWorld(undefined);
  const worldWit = (await componentWit(await componentNew(dummy))).trimEnd();
  const core = fs.readFileSync(path.join(scratch, 'kv', 'actor2_kv.core.wasm'));
  // The WIT printed above names the imported interfaces only, so check
  // the functions too: the core module must import every function the
  // dummy module of the world imports (jco names those in the newer
  // cm32p2 scheme; versions are left to the WIT check).
  const importNames = (bytes, scheme) =>
    WebAssembly.Module.imports(new WebAssembly.Module(bytes))
      .filter((i) => i.kind === 'function')
      .map(({ module, name }) => {
        module = module.replace(/^cm32p2\|/, '').replace(/@.*$/, '');
        if (scheme) name = name.replace(/^(.+)_drop$/, '[resource-drop]$1');
        return `${module} ${name}`;
      })
      .sort()
      .join('\n');
  if (importNames(core, false) !== importNames(dummy, true)) {
    throw new Error(
      `${name}: its core imports are not the world's:\n${importNames(core, false)}\n-- want --\n${importNames(dummy, true)}`,
    );
  }
  const bytes = await componentNew(await embedWorld(core));
  const wit = (await componentWit(bytes)).trimEnd();
  if (wit !== worldWit) {
    throw new Error(`${name}: its WIT is not the world ${world}'s:\n${wit}\n-- want --\n${worldWit}`);
  }
  writeFixture(name, bytes);
  await report(name, bytes, t0);
}

await buildActors('airssys-actor', 'airssys:actor/component@0.1.0', 'actor_');
await buildActors('airssys-actor-0.2.0', 'airssys:actor/component@0.2.0', 'actor2_');
await buildKvActor();
