// `node --import ./scripts/register-raw.mjs --import tsx script.ts`: see raw-hooks.mjs.
import { register } from 'node:module';

register('./raw-hooks.mjs', import.meta.url);
