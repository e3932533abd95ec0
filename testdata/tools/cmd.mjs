// Builds cmd.wasm, a WASI command component: the C command module in the
// scratch dir (cmd.core.wasm, built by build.sh from src/cmd/cmd.c) with an
// empty world and the preview1 command adapter, which exports wasi:cli/run
// and calls the module's _start.
//
//   node tools/cmd.mjs <testdata dir> <scratch dir>
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  componentEmbed,
  componentNew,
  componentWit,
} from '@bytecodealliance/jco-transpile/wasm-tools';

const toolsDir = path.dirname(fileURLToPath(import.meta.url));
const [testdata, scratch] = process.argv.slice(2);
if (!testdata || !scratch) {
  console.error('usage: node cmd.mjs <testdata dir> <scratch dir>');
  process.exit(2);
}
const t0 = Date.now();
const core = fs.readFileSync(path.join(scratch, 'cmd.core.wasm'));
const adapter = fs.readFileSync(
  path.join(toolsDir, 'node_modules/@bytecodealliance/jco/lib/wasi_snapshot_preview1.command.wasm'),
);
const embedded = await componentEmbed({
  binary: core,
  witSource: 'package airssys:test@0.1.0;\nworld cmd {}\n',
  world: 'cmd',
  stringEncoding: 'utf8',
});
const bytes = await componentNew(embedded, [['wasi_snapshot_preview1', adapter]]);
const wit = (await componentWit(bytes)).trimEnd();
if (!/export wasi:cli\/run@0\.2\.\d+;/.test(wit)) {
  console.error(`cmd.wasm does not export wasi:cli/run:\n${wit}`);
  process.exit(1);
}
const out = path.join(testdata, 'cmd.wasm');
fs.writeFileSync(out + '.tmp', bytes);
fs.renameSync(out + '.tmp', out);
console.log(`== cmd.wasm: ${bytes.length} bytes (${Date.now() - t0} ms)`);
console.log(wit);
