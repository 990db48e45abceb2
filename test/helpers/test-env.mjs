// Preloaded into every test process (.taprc `node-arg: --import`), and inherited by the CLI
// processes tests start: tests never write to the user's real cache folder
// ($XDG_CACHE_HOME/pjrt-bert or ~/.cache/pjrt-bert). Compiled programs go to one folder under
// the system temp dir instead (shared by test runs, as the cache is meant to be); a test that
// checks the default location clears PJRT_BERT_CACHE itself. The plugins' INFO logs are kept
// off the test output, as the pjrt-bert command does.
import os from 'node:os';
import path from 'node:path';

process.env.PJRT_BERT_CACHE ??= path.join(os.tmpdir(), `pjrt-bert-test-cache-${os.userInfo().uid}`);
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
