// docs/api.md is generated from the package's declarations; this fails when
// a public type or its doc comment changed and the reference was not
// regenerated (node scripts/api-reference.mjs).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script without declarations
import { apiReference } from '../../scripts/api-reference.mjs';
import { repoRoot } from '../fixtures/pack-install';

it('docs/api.md matches the public declarations', () => {
  expect(apiReference()).toBe(readFileSync(path.join(repoRoot, 'docs/api.md'), 'utf8'));
});
