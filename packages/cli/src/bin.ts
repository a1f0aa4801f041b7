#!/usr/bin/env node
/**
 * The `bambu-cloud` executable. In a checkout without a build:
 * `node --conditions=source --import tsx packages/cli/src/bin.ts --help`.
 */
import { main } from './main.ts'

// A closed pipe (`bambu-cloud tasks | head -1`) ends the output, not with a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})

process.exit(await main(process.argv.slice(2)))
