// Validates every .wasm file in a folder with the JavaScript engine's own WebAssembly.validate, and
// checks that each module's name section carries its file's name (the kernel's canonical name).
// Usage: node --experimental-wasm-relaxed-simd tests/validate_wasm.mjs FOLDER
import fs from 'node:fs';
import path from 'node:path';

const folder = process.argv[2];
const files = fs.readdirSync(folder).filter((f) => f.endsWith('.wasm')).sort();
let bad = 0;
for (const file of files) {
  const bytes = fs.readFileSync(path.join(folder, file));
  const name = file.slice(0, -'.wasm'.length);
  if (!WebAssembly.validate(bytes)) {
    console.log(`invalid module: ${file}`);
    ++bad;
  } else if (!bytes.includes(Buffer.from(name))) {
    console.log(`${file}: the name section does not carry "${name}"`);
    ++bad;
  }
}
console.log(`${files.length - bad} of ${files.length} modules valid`);
process.exit(files.length > 0 && bad === 0 ? 0 : 1);
