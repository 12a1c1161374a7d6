import { readFileSync } from 'node:fs';

/** The package version, read once from package.json (src/ and dist/ are both one level below the root). */
export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
