// The one place the page shows a failure: `clw-code: message`, then the fix.

import { ClawError, toClawError } from '../errors';
import { byTestId } from './dom';

export class ErrorBanner {
  private readonly root = byTestId('error-banner');
  private readonly summary = this.root.querySelector<HTMLElement>('.error-summary')!;
  private readonly fix = this.root.querySelector<HTMLElement>('.error-fix')!;

  constructor() {
    this.root.querySelector('.error-dismiss')?.addEventListener('click', () => this.clear());
  }

  show(error: unknown): ClawError {
    const err = toClawError(error);
    this.summary.textContent = err.toString();
    this.fix.textContent = err.fix ?? '';
    this.fix.hidden = !err.fix;
    this.root.dataset.code = err.code;
    this.root.hidden = false;
    return err;
  }

  clear(): void {
    this.root.hidden = true;
    this.summary.textContent = '';
    this.fix.textContent = '';
    delete this.root.dataset.code;
  }
}
