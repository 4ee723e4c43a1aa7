// What the page's parts share: the page state (owned by main.ts), the error
// banner, the settings, and the two things every action goes through:
// render() after a change, act() to run a user action.

import type { CompatibilityReport, ModelInfo } from '../engine/types';
import type { ModelRecord } from '../worker/library';
import type { Conversation } from './conversations';
import type { ErrorBanner } from './error-banner';
import type { GpuProbe } from './gpu-probe';
import type { SettingsPanel } from './settings';

export type Busy = 'idle' | 'inspecting' | 'loading' | 'generating';

export interface PageState {
  busy: Busy;
  /** The stored models, for the library. */
  records: ModelRecord[];
  /** The model whose compatibility report is shown. */
  selected: ModelRecord | undefined;
  report: CompatibilityReport | undefined;
  /** What answers: the model loaded here, or the remote server. */
  loaded: ModelRecord | undefined;
  info: ModelInfo | undefined;
  probe: GpuProbe | undefined;
  conversations: Conversation[];
  current: Conversation;
}

export interface Page {
  readonly state: PageState;
  readonly banner: ErrorBanner;
  readonly settings: SettingsPanel;
  /** Shows the state: buttons, hints, the library and the conversation list. */
  render(): void;
  /** Runs a user action: one at a time, and every failure lands in the banner. */
  act(busy: Busy, action: () => Promise<void>): Promise<void>;
}
