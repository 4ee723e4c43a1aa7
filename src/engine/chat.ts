// Chat prompts: the model's own `tokenizer.chat_template` (Jinja, rendered by
// @huggingface/jinja), or a plain, clearly labelled fallback when the file
// has none.

import { Template } from '@huggingface/jinja';
import type { GgufFile } from '../gguf/types';
import type { ChatMessage } from './types';

export interface ChatFormatter {
  /** The template source, or null when the fallback is used. */
  readonly template: string | null;
  render(messages: readonly ChatMessage[], options: { bosToken: string; eosToken: string; addGenerationPrompt?: boolean }): string;
}

/** Used when a file carries no template: a neutral role-tagged transcript. */
export const FALLBACK_TEMPLATE =
  "{% for m in messages %}{{ m['role'] | capitalize }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}";

export function chatFormatterFor(file: GgufFile): ChatFormatter {
  const entry = file.metadata.get('tokenizer.chat_template');
  const source = entry && typeof entry.value === 'string' ? entry.value : null;
  const compiled = new Template(source ?? FALLBACK_TEMPLATE);
  return {
    template: source,
    render(messages, { bosToken, eosToken, addGenerationPrompt = true }) {
      return compiled.render({
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        bos_token: bosToken,
        eos_token: eosToken,
        add_generation_prompt: addGenerationPrompt,
      });
    },
  };
}
