// Wraps a core module built by the Go toolchain (GOOS=wasip1,
// -buildmode=c-shared, with the guest package) into a component: embed the
// WIT world, then component-new with the WASI preview1 reactor adapter.
// Both steps are wit-component's, through jco's wasm-tools (jco-transpile).
// Run by `airssys-wasm build` (internal/gobuild), which checked the
// adapter's sha256 and checks the WIT this prints.
//
//   node wrap.mjs <tools dir> <core.wasm> <world.wit> <world> <adapter.wasm> <out.wasm>
//
// Prints the component's WIT on stdout. Errors go to stderr, exit 1.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [tools, corePath, witPath, world, adapterPath, out] = process.argv.slice(2);
if (!out) {
  console.error('usage: node wrap.mjs <tools dir> <core.wasm> <world.wit> <world> <adapter.wasm> <out.wasm>');
  process.exit(2);
}
try {
  const require = createRequire(path.join(tools, 'package.json'));
  const { componentEmbed, componentNew, componentWit } = await import(
    pathToFileURL(require.resolve('@bytecodealliance/jco-transpile/wasm-tools')).href
  );
  const core = fs.readFileSync(corePath);
  const exports = WebAssembly.Module.exports(new WebAssembly.Module(core)).map((e) => e.name);
  if (!exports.some((n) => n.startsWith('airssys:actor/actor@0.2.0#'))) {
    throw new Error(
      'the package exports no actor: import github.com/airsstack/airssys-wasm-go/guest and call guest.Register in an init function',
    );
  }
  if (exports.includes('_start')) {
    throw new Error('the module is a command (_start), not a reactor: build with -buildmode=c-shared');
  }
  const embedded = await componentEmbed({
    binary: core,
    witSource: fs.readFileSync(witPath, 'utf8'),
    world,
    stringEncoding: 'utf8',
  });
  const bytes = await componentNew(embedded, [['wasi_snapshot_preview1', fs.readFileSync(adapterPath)]]);
  const wit = await componentWit(bytes);
  fs.writeFileSync(out, bytes);
  process.stdout.write(wit);
} catch (e) {
  console.error(e && e.message ? e.message : String(e));
  process.exit(1);
}
