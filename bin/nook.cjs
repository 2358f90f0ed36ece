#!/usr/bin/env node
'use strict';
// bin/nook (native/launcher) runs this with the node on PATH when it has nothing to replay.
// Runs the CLI bundle with V8's code cache (written by scripts/build.mjs), so the bundle's
// functions are not parsed and compiled again at every start. Node 20 has no built-in
// compile cache for CommonJS; a stale or foreign cache is rejected by V8 and only costs
// the compile it would have cost anyway.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const file = path.join(__dirname, '..', 'dist', 'nook.cjs');
const cacheFile = `${file}.cache`;
let cachedData;
try {
  cachedData = fs.readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), { filename: file, cachedData });
if (process.env.NOOK_WRITE_CODE_CACHE === '1') {
  process.once('exit', () => fs.writeFileSync(cacheFile, script.createCachedData()));
}
const bundle = new Module(file, module);
bundle.filename = file;
script.runInThisContext()(bundle.exports, Module.createRequire(file), bundle, file, path.dirname(file));
