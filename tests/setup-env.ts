// Point Dawn at SwiftShader (a CPU Vulkan shipped with Debian's chromium)
// when no Vulkan driver was chosen explicitly, so GPU tests run on machines
// without a GPU. A developer with a real GPU can set VK_ICD_FILENAMES or
// CLAW_USE_SYSTEM_VULKAN=1 to use theirs.
import { existsSync } from 'node:fs';

const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && !process.env.CLAW_USE_SYSTEM_VULKAN && existsSync(swiftshader)) {
  process.env.VK_ICD_FILENAMES = swiftshader;
}

// Node + Dawn: Dawn's polling eased off during long waits (CI time; see the file).
if (!('Deno' in globalThis)) await import('./dawn-polling');
