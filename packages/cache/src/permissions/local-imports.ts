// The app's own files a schema file imports (relative specifiers, followed transitively),
// for watching. A scan of the source text, not a resolver: enough to know what to watch.
import {existsSync, readFileSync, statSync} from 'node:fs';
import {dirname, join, resolve} from 'node:path';

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g;
const EXTENSIONS = ['', '.ts', '.tsx', '.mts', '.js', '.mjs', '/index.ts', '/index.js'];

function resolveLocal(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  const candidates = [...EXTENSIONS.map(e => base + e)];
  // `./x.js` written for a `./x.ts` source (TypeScript's NodeNext convention).
  if (/\.m?js$/.test(base)) candidates.push(base.replace(/\.(m?)js$/, '.$1ts'));
  return candidates.find(c => existsSync(c) && statSync(c).isFile());
}

export function localImports(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return;
    }
    for (const m of text.matchAll(SPECIFIER)) {
      const spec = m[1];
      if (spec === undefined) continue;
      const dep = resolveLocal(file, spec);
      if (dep && !dep.includes(`${join('/', 'node_modules')}/`)) visit(dep);
    }
  };
  visit(entry);
  return [...seen];
}
