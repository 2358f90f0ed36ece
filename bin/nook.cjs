#!/usr/bin/env node
'use strict';
// bin/nook (native/launcher) runs this with the node on PATH when it has nothing to replay.
// dist/nook.cjs picks the bundle the command needs and loads it with V8's code cache.
require('../dist/nook.cjs');
