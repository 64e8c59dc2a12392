// Command groups more than one module adds subcommands to (`incidents`: list/show here, pending in
// approvals). Each caller gets the same group, created on first use, so registration order is free.
import type { Command } from 'commander';

function group(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

export function incidentsCommand(program: Command): Command {
  return group(program, 'incidents', 'Find incidents and look at their state');
}

export function historyCommand(program: Command): Command {
  return group(program, 'history', 'Export incident event histories');
}
