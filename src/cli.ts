// The `rebound` command. Each group of subcommands lives in src/commands/ and registers itself here.
import { Command } from 'commander';
import { registerAlertCommands } from './commands/alert';
import { registerDevCommands } from './commands/dev';
import { registerRunbookCommands } from './commands/runbooks';
import { registerSafetyCommands } from './commands/safety';

const program = new Command('rebound')
  .description('Durable recovery runbooks for Prometheus Alertmanager alerts, on Temporal')
  .version('0.1.0')
  .showHelpAfterError();

registerDevCommands(program);
registerRunbookCommands(program);
registerSafetyCommands(program);
registerAlertCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`rebound: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
});
