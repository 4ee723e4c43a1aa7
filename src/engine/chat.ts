// Chat prompts: the model's own `tokenizer.chat_template` (Jinja, run under
// limits by template-sandbox.ts), or a plain, clearly labelled fallback when
// the file has none. The rendered text only ever becomes tokens. Tools and
// tool calls reach the template as src/tools/prompt.ts shapes them.

import { ClawError } from '../errors';
import type { GgufFile } from '../gguf/types';
import { parseTemplate, renderLimited, TEMPLATE_LIMITS, type Program, type TemplateLimits } from './template-sandbox';
import { templateVariables } from '../tools/prompt';
import { toolCallSyntaxOf, type ToolCallSyntax } from '../tools/syntax';
import type { ChatMessage, ToolDefinition } from './types';

export interface ChatFormatter {
  /** The template source, or null when the fallback is used. */
  readonly template: string | null;
  /** Why the file's own template could not be used (it did not parse), if so. */
  readonly problem?: string;
  /** How this model writes tool calls (told from the template; 'generic' when it takes no tools). */
  readonly toolSyntax: ToolCallSyntax;
  render(messages: readonly ChatMessage[], options: RenderOptions): string;
}

export interface RenderOptions {
  bosToken: string;
  eosToken: string;
  addGenerationPrompt?: boolean;
  /** Functions offered to the model. */
  tools?: readonly ToolDefinition[];
}

/** Used when a file carries no template: a neutral role-tagged transcript. */
export const FALLBACK_TEMPLATE =
  "{% for m in messages %}{{ m['role'] | capitalize }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}";

export function chatFormatterFor(file: GgufFile, limits: TemplateLimits = TEMPLATE_LIMITS): ChatFormatter {
  const entry = file.metadata.get('tokenizer.chat_template');
  let source = entry && typeof entry.value === 'string' ? entry.value : null;
  let compiled: Program;
  let problem: string | undefined;
  try {
    compiled = parseTemplate(source ?? FALLBACK_TEMPLATE);
  } catch (e) {
    // A template this renderer cannot parse must not stop the model from loading.
    problem = `the model's chat template could not be parsed (${e instanceof Error ? e.message : String(e)}); using a plain fallback`;
    source = null;
    compiled = parseTemplate(FALLBACK_TEMPLATE);
  }
  const toolSyntax = toolCallSyntaxOf(source);
  return {
    template: source,
    problem,
    toolSyntax,
    render(messages, { bosToken, eosToken, addGenerationPrompt = true, tools }) {
      const vars = {
        ...templateVariables(messages, toolSyntax, tools),
        bos_token: bosToken,
        eos_token: eosToken,
        add_generation_prompt: addGenerationPrompt,
      };
      try {
        return renderLimited(compiled, vars, limits);
      } catch (e) {
        if (e instanceof ClawError) throw e;
        throw new ClawError('clw-bad-request', `the chat template failed to render these messages: ${e instanceof Error ? e.message : String(e)}`, {
          fix: 'Check the message roles (system, user, assistant, tool) and order, or send a raw prompt.',
        });
      }
    },
  };
}
