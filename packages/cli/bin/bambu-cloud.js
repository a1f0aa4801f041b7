#!/usr/bin/env node
// The installed command: runs the compiled CLI (`npm ci` builds it through the root `prepare`).
import '../dist/bin.js'
