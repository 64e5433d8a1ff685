// Build autograder/assets/verify-bundle.js (one minified IIFE) and, next to it, the licence texts
// of every npm package whose code ends up in it (read from esbuild's metafile, so the list cannot
// drift from the bundle). Run: npm ci && npm run build
import * as esbuild from 'esbuild';
import {readFileSync, readdirSync, writeFileSync} from 'node:fs';
import {createHash} from 'node:crypto';

const out = '../../autograder/assets/verify-bundle.js';
const result = await esbuild.build({
  entryPoints: ['src/main.js'], bundle: true, minify: true, format: 'iife', globalName: 'CertVerify',
  platform: 'browser', target: ['chrome110', 'firefox115', 'safari17'], legalComments: 'none',
  metafile: true, outfile: out, logLevel: 'info',
});
const packages = new Set();
for (const output of Object.values(result.metafile.outputs)) {
  for (const [input, {bytesInOutput}] of Object.entries(output.inputs)) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match && bytesInOutput > 0) packages.add(match[1]);
  }
}
const sections = [...packages].sort().map((name) => {
  const dir = `node_modules/${name}`;
  const meta = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8'));
  const file = readdirSync(dir).find((entry) => /^(licen[cs]e|copying)/i.test(entry));
  if (!file) throw new Error(`${name} ships no licence file: check its licence before bundling it`);
  const repo = typeof meta.repository === 'string' ? meta.repository : meta.repository?.url;
  return `${'='.repeat(78)}\n${name} ${meta.version} (${meta.license}) ${repo ?? ''}\n${'='.repeat(78)}\n` +
    readFileSync(`${dir}/${file}`, 'utf8').trim() + '\n';
});
writeFileSync('../../autograder/assets/verify-bundle.LICENSES.txt',
  'Licences of the npm packages bundled into verify-bundle.js (built by tools/verify-page/build.mjs).\n\n' +
  sections.join('\n'));
const digest = createHash('sha256').update(readFileSync(out)).digest('hex');
console.log(`bundled: ${[...packages].sort().join(', ')}\nsha256 ${digest}  verify-bundle.js`);
