// Makes the demo actors' components (demo_counter_v1.wasm,
// demo_counter_v2.wasm, demo_audit.wasm) from the core modules that
// testdata/build.sh compiled into <scratch>/demo/<name>.core.wasm:
//
//   node src/demo/build.mjs <testdata dir> <scratch dir>
//
// World airssys:demo/kv-actor@0.1.0 (demo.wit: world 0.2.0 plus
// wasi:keyvalue store and atomics 0.2.0-draft2). Unlike the actor2_
// fixtures, these do not import the whole world: build.sh compiles the
// glue with -Dused=unused, so the linker drops every wrapper the behaviour
// does not reach, and the component imports only the functions the core
// module calls. Each component's imported functions are pinned below: a
// change to the code that adds or loses one fails the build until the list
// is updated on purpose.
//
// jco comes from tools/node_modules (npm ci by build.sh). The WIT goes in
// as one source string, as in tools/actors.mjs: demo.wit followed by one
// nested `package name { ... }` block per package of
// wit/airssys-actor-0.2.0 (with its deps) and wit/wasi-keyvalue-0.2.0-draft2.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [testdata, scratch] = process.argv.slice(2);
if (!testdata || !scratch) {
  console.error('usage: node src/demo/build.mjs <testdata dir> <scratch dir>');
  process.exit(2);
}

const require = createRequire(path.join(testdata, 'tools', 'package.json'));
const { componentEmbed, componentNew, componentWit } = await import(
  pathToFileURL(require.resolve('@bytecodealliance/jco-transpile/wasm-tools')).href
);

const world = 'airssys:demo/kv-actor@0.1.0';

// What each component imports: "<interface> <function>", sorted.
const common = [
  'airssys:actor/messaging@0.2.0 self-id',
  'airssys:actor/types@0.2.0 [method]message.bytes',
  'airssys:actor/types@0.2.0 [method]message.header',
  'airssys:actor/types@0.2.0 [method]message.metadata',
  'airssys:actor/types@0.2.0 [method]message.sender',
  'airssys:actor/types@0.2.0 [method]message.text',
  'airssys:actor/types@0.2.0 [resource-drop]message',
  'wasi:keyvalue/atomics@0.2.0-draft2 increment',
  'wasi:keyvalue/store@0.2.0-draft2 [method]bucket.get',
  'wasi:keyvalue/store@0.2.0-draft2 [resource-drop]bucket',
  'wasi:keyvalue/store@0.2.0-draft2 open',
  'wasi:logging/logging@0.1.0-draft log',
];
const counterImports = [
  ...common,
  'airssys:actor/messaging@0.2.0 publish',
  'airssys:actor/types@0.2.0 [static]payload.from-text',
].sort();
const components = [
  ['demo_counter_v1', counterImports],
  ['demo_counter_v2', counterImports],
  ['demo_audit', [...common, 'wasi:keyvalue/store@0.2.0-draft2 [method]bucket.set'].sort()],
];

// The WIT files of each package under dirs (deps/ included): package ->
// sorted [file, text] pairs. A package found twice must be the same.
function witPackages(dirs) {
  const found = new Map();
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
      const files = found.get(pkg[1]) ?? new Map();
      if (files.has(e.name) && files.get(e.name) !== text) throw new Error(`WIT: two ${pkg[1]} ${e.name}`);
      files.set(e.name, text);
      found.set(pkg[1], files);
    }
  };
  for (const dir of dirs) walk(dir);
  return new Map([...found].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, [...v].sort()]));
}

let witSource = fs.readFileSync(path.join(testdata, 'src', 'demo', 'demo.wit'), 'utf8');
const witRoot = path.join(testdata, '..', 'wit');
for (const [pkgName, files] of witPackages(
  ['airssys-actor-0.2.0', 'wasi-keyvalue-0.2.0-draft2'].map((d) => path.join(witRoot, d)),
)) {
  witSource += `\npackage ${pkgName} {\n`;
  for (const [file, text] of files) {
    const pkg = /^package\s+([^;\s]+)\s*;[ \t]*$/m.exec(text);
    witSource +=
      `// ${file}\n` + text.slice(0, pkg.index).replace(/^(\s*)\/\/\//gm, '$1//') + text.slice(pkg.index + pkg[0].length);
  }
  witSource += '}\n';
}

const importNames = (bytes) =>
  WebAssembly.Module.imports(new WebAssembly.Module(bytes))
    .filter((i) => i.kind === 'function')
    .map(({ module, name }) => `${module} ${name}`)
    .sort();

for (const [name, want] of components) {
  const t0 = Date.now();
  const core = fs.readFileSync(path.join(scratch, 'demo', `${name}.core.wasm`));
  const got = importNames(core);
  if (got.join('\n') !== want.join('\n')) {
    throw new Error(`${name}: its core imports are not the pinned ones:\n${got.join('\n')}\n-- want --\n${want.join('\n')}`);
  }
  const bytes = await componentNew(
    await componentEmbed({ binary: core, witSource, world, stringEncoding: 'utf8' }),
  );
  const out = path.join(testdata, `${name}.wasm`);
  fs.writeFileSync(out + '.tmp', bytes);
  fs.renameSync(out + '.tmp', out);
  console.log(`== ${name}.wasm: ${bytes.length} bytes (${Date.now() - t0} ms)`);
  console.log((await componentWit(bytes)).trimEnd());
}
