// The page's header worker: the compatibility report and the metadata viewer
// read a file's header here, off the main thread, before anything is loaded.
// Loading and chatting run in engine-worker.ts, through the library's own
// worker engine. The page talks to this one through client.ts.

import { expose } from 'comlink';
import { ClawEngine } from '../engine/engine';
import { WorkerService } from './service';

expose(new WorkerService({ createEngine: () => ClawEngine.create() }));
