// First step of `npm test`: the system packages the tests need, checked
// before anything runs, so a bare machine gets one line saying exactly what
// to install instead of a failure deep inside a GPU or browser test.
import { existsSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const missing = [];
const has = (path) => existsSync(path);
const icds = (dir, prefix) => {
  try {
    return readdirSync(dir).some((f) => f.startsWith(prefix));
  } catch {
    return false;
  }
};
const libvulkan = (() => {
  try {
    return execFileSync('ldconfig', ['-p'], { encoding: 'utf8' }).includes('libvulkan.so.1');
  } catch {
    return ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1'].some(has);
  }
})();

// Headless Chromium for the browser tests; its SwiftShader is the CPU Vulkan Dawn uses in Node.
if (!has('/usr/bin/chromium') || !has('/usr/lib/chromium/vk_swiftshader_icd.json')) missing.push('chromium');
if (!libvulkan) missing.push('libvulkan1');
// lavapipe: the CPU Vulkan (with shader-f16) of the wgpu lane under Deno.
if (!icds('/usr/share/vulkan/icd.d', 'lvp_icd')) missing.push('mesa-vulkan-drivers');
if (!existsSync(new URL('../node_modules/.bin/vitest', import.meta.url))) {
  console.error('test-preflight: the npm packages are not installed; run: npm install');
  process.exit(1);
}
if (missing.length > 0) {
  console.error(`test-preflight: the tests need these Debian packages: ${missing.join(' ')}`);
  console.error(`run (as root): apt-get update && apt-get install -y ${missing.join(' ')}`);
  process.exit(1);
}
