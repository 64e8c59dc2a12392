#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so a checkout works without a build step.
require('tsx/cjs');
require('../src/cli.ts');
