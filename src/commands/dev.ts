// PLACEHOLDER — `rebound dev`, `rebound worker`, `rebound serve` land here.
import type { Command } from 'commander';

export function registerDevCommands(_program: Command): void {}
