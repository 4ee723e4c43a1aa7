// Chat prompts: the model's own `tokenizer.chat_template` (Jinja, rendered by
// @huggingface/jinja), or a plain, clearly labelled fallback when the file
// has none.

import { Template } from '@huggingface/jinja';
import { ClawError } from '../errors';
import type { GgufFile } from '../gguf/types';
import type { ChatMessage } from './types';

export interface ChatFormatter {
  /** The template source, or null when the fallback is used. */
  readonly template: string | null;
  /** Why the file's own template could not be used (it did not parse), if so. */
  readonly problem?: string;
  render(messages: readonly ChatMessage[], options: { bosToken: string; eosToken: string; addGenerationPrompt?: boolean }): string;
}

/** Used when a file carries no template: a neutral role-tagged transcript. */
export const FALLBACK_TEMPLATE =
  "{% for m in messages %}{{ m['role'] | capitalize }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}";

export function chatFormatterFor(file: GgufFile): ChatFormatter {
  const entry = file.metadata.get('tokenizer.chat_template');
  let source = entry && typeof entry.value === 'string' ? entry.value : null;
  let compiled: Template;
  let problem: string | undefined;
  try {
    compiled = new Template(source ?? FALLBACK_TEMPLATE);
  } catch (e) {
    // A template this renderer cannot parse must not stop the model from loading.
    problem = `the model's chat template could not be parsed (${e instanceof Error ? e.message : String(e)}); using a plain fallback`;
    source = null;
    compiled = new Template(FALLBACK_TEMPLATE);
  }
  return {
    template: source,
    problem,
    render(messages, { bosToken, eosToken, addGenerationPrompt = true }) {
      try {
        return compiled.render({
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        bos_token: bosToken,
        eos_token: eosToken,
          add_generation_prompt: addGenerationPrompt,
        });
      } catch (e) {
        throw new ClawError('clw-bad-request', `the chat template failed to render these messages: ${e instanceof Error ? e.message : String(e)}`, {
          fix: 'Check the message roles (system, user, assistant) and order, or use a raw prompt.',
        });
      }
    },
  };
}
