#!/usr/bin/env node
// The `pjrt-bert` command (package.json "bin"). The code lives in lib/cli (compiled to dist/).
import { main } from '../dist/lib/cli/main.js';

// XLA plugins log every client option at INFO level through absl. The command keeps stderr for
// warnings unless the user set a level; the library itself leaves the environment alone.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
process.exitCode = await main(process.argv.slice(2));
