// build/runt.cjs, what the launcher runs: the CLI bundle (build/runt-main.cjs) loaded from its code cache.
import { join } from 'node:path';
import { loadCached } from './load-cached';

loadCached(join(__dirname, 'runt-main.cjs'));
