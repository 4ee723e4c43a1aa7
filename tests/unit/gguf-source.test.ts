import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobSource, BytesSource, GgmlType, kv, readGguf, writeGguf } from '../../src/gguf';
import { openFileSource } from '../../src/gguf/source-node';

const bytes = writeGguf({ metadata: [kv.str('general.architecture', 'llama')], tensors: [{ name: 'w', shape: [64], type: GgmlType.Q8_0 }] });

describe('byte sources', () => {
  let dir = '';
  let file = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'webclaw-gguf-'));
    file = path.join(dir, 'tiny.gguf');
    await writeFile(file, bytes);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serve the same bytes from memory, a Blob and a file on disk', async () => {
    const fileSource = await openFileSource(file);
    try {
      const sources = [new BytesSource(bytes), new BlobSource(new Blob([bytes])), fileSource];
      for (const s of sources) {
        expect(s.size).toBe(bytes.length);
        expect(await s.read(10, 20)).toEqual(bytes.subarray(10, 30));
        expect(await s.read(bytes.length, 0)).toEqual(new Uint8Array(0));
      }
      expect(fileSource.name).toBe('tiny.gguf');
      expect(await readGguf(fileSource)).toEqual(await readGguf(new BytesSource(bytes)));
    } finally {
      await fileSource.close!();
    }
  });

  it('refuse reads outside the source with clw-bad-request', async () => {
    for (const s of [new BytesSource(bytes), new BlobSource(new Blob([bytes]))]) {
      await expect(s.read(bytes.length - 4, 8)).rejects.toMatchObject({ code: 'clw-bad-request' });
      await expect(s.read(-1, 4)).rejects.toMatchObject({ code: 'clw-bad-request' });
    }
  });

  it('report a missing file as clw-bad-request naming the path', async () => {
    await expect(openFileSource(path.join(dir, 'absent.gguf'))).rejects.toMatchObject({ code: 'clw-bad-request', details: { path: path.join(dir, 'absent.gguf') } });
  });

  it('refuse reads from a closed file', async () => {
    const s = await openFileSource(file);
    await s.close!();
    await s.close!();
    await expect(s.read(0, 4)).rejects.toMatchObject({ code: 'clw-bad-request' });
  });

  it('report a file that shrank on disk after opening as clw-model-invalid', async () => {
    const shrinking = path.join(dir, 'shrinking.gguf');
    await writeFile(shrinking, bytes);
    const s = await openFileSource(shrinking);
    try {
      await writeFile(shrinking, bytes.subarray(0, 16));
      await expect(s.read(0, 64)).rejects.toMatchObject({ code: 'clw-model-invalid', details: { field: 'file', offset: 16 } });
    } finally {
      await s.close!();
    }
  });

  it('take the name of a File', () => {
    expect(new BlobSource(new File([bytes], 'model.gguf')).name).toBe('model.gguf');
  });
});
