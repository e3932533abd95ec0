// Builds the actor components actor_*.wasm and actor2_*.wasm. Called by
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

await buildActors('airssys-actor', 'airssys:actor/component@0.1.0', 'actor_');
await buildActors('airssys-actor-0.2.0', 'airssys:actor/component@0.2.0', 'actor2_');
