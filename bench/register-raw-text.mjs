// `node --import ./bench/register-raw-text.mjs --import tsx file.ts` (npm run ts -- file.ts):
// registers raw-text-hooks.mjs before anything else is imported.
import { register } from 'node:module';

register('./raw-text-hooks.mjs', import.meta.url);
