#!/usr/bin/env node
// The `pjrt-bert` command (package.json "bin"). The code lives in lib/cli (compiled to dist/).
import { main } from '../dist/lib/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
