// The compatibility summary, shown right after the header is parsed and
// before anything is loaded: what the file is, which tensor types it uses
// and whether the GPU path runs each of them, and the verdict.

import type { CompatibilityReport } from '../engine/types';
import type { GpuProbe } from './gpu-probe';
import { byTestId, h } from './dom';
import { formatBytes, formatCount } from './format';

const VERDICT_TEXT: Record<CompatibilityReport['verdict'], string> = {
  runs: 'Runs on this GPU',
  'runs-with-warnings': 'Runs, with warnings',
  'will-not-run': 'Will not run',
};

export class CompatView {
  private readonly root = byTestId('compat-report');

  showPending(name: string): void {
    this.root.replaceChildren(h('p', { class: 'muted' }, `Reading the header of ${name}…`));
    this.root.hidden = false;
  }

  clear(): void {
    this.root.replaceChildren();
    this.root.hidden = true;
  }

  show(report: CompatibilityReport, gpu?: GpuProbe): void {
    // Shares of the tensor bytes, as the engine's issues state them (the file also holds the header).
    const tensorBytes = report.tensorTypes.reduce((sum, t) => sum + t.bytes, 0);
    const share = (bytes: number) => (tensorBytes > 0 ? ` (${((100 * bytes) / tensorBytes).toFixed(1)}%)` : '');
    const typeRows = report.tensorTypes.map((t) =>
      h(
        'tr',
        { class: t.supported ? '' : 'unsupported', 'data-type': t.type },
        h('th', { scope: 'row' }, t.type),
        h('td', { class: 'num' }, String(t.count)),
        h('td', { class: 'num' }, formatBytes(t.bytes) + share(t.bytes)),
        t.supported ? h('td', {}, '✓ supported') : h('td', {}, '✗ not supported ', h('code', {}, 'clw-quant-unsupported')),
      ),
    );
    const arch = report.architectureSupported
      ? `${report.architecture} · supported`
      : `${report.architecture} · not supported (supported: ${report.supportedArchitectures.join(', ')})`;

    const parts: (HTMLElement | null)[] = [
      h('h3', {}, 'Compatibility'),
      h('p', { class: `verdict verdict-${report.verdict}`, 'data-testid': 'compat-verdict', 'data-verdict': report.verdict }, VERDICT_TEXT[report.verdict]),
      h(
        'dl',
        { class: 'facts' },
        ...fact('File', report.fileName ?? 'unnamed'),
        ...(report.modelName ? fact('Model', report.modelName) : []),
        ...fact('Architecture', arch),
        ...fact('Parameters', `${formatCount(report.parameterCount)} (${report.parameterCount.toLocaleString('en-US')})`),
        ...fact('Size', formatBytes(report.fileBytes)),
        ...(report.contextLength ? fact('Trained context', `${report.contextLength.toLocaleString('en-US')} tokens`) : []),
        ...(gpu ? fact('GPU', gpu.adapter) : []),
        ...(gpu
          ? fact(
              'GPU features',
              `shader-f16 ${gpu.shaderF16 ? 'yes' : 'no'} · subgroups ${gpu.subgroups ? 'yes' : 'no'} · largest binding ${formatBytes(gpu.maxStorageBufferBindingSize)} · largest buffer ${formatBytes(gpu.maxBufferSize)}`,
            )
          : []),
        ...(report.arithmetic ? fact('Arithmetic', report.arithmetic) : []),
      ),
      h(
        'table',
        { class: 'types', 'data-testid': 'compat-types' },
        h('caption', {}, 'Tensor types'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Tensors'), h('th', { scope: 'col' }, 'Bytes'), h('th', { scope: 'col' }, 'GPU path'))),
        h('tbody', {}, ...typeRows),
      ),
      report.issues.length
        ? h(
            'ul',
            { class: 'issues', 'data-testid': 'compat-issues' },
            ...report.issues.map((issue) =>
              h('li', { class: `issue issue-${issue.severity}` }, h('code', {}, issue.code), ' ', issue.message),
            ),
          )
        : null,
      report.plan
        ? h('details', { class: 'plan', open: true }, h('summary', {}, 'Memory plan'), h('pre', { 'data-testid': 'compat-plan' }, [report.plan, ...(report.planNotes ?? []).map((n) => `- ${n}`)].join('\n')))
        : null,
    ];
    this.root.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
    this.root.hidden = false;
  }
}

function fact(term: string, value: string): HTMLElement[] {
  return [h('dt', {}, term), h('dd', {}, value)];
}
