#!/usr/bin/env node
// Checked before anything is imported: on an older Node.js, what fails first would be some module's syntax or API.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(`chaussette: error: this is Node.js ${process.versions.node}; chaussette needs Node.js 22.12 or later (24 LTS recommended)\n`);
  process.exit(1);
}
const { main } = await import('../dist/main.js');

process.exit(await main(process.argv.slice(2)));
