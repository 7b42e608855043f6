import type { Command } from 'commander';
import { registerBudgetCommands } from './budget';
import { registerCodecCommands } from './codec';
import { registerConnectorCommands } from './connectors';
import { registerDemoCommands } from './demo';
import { registerOrgCommands } from './org';
import { registerStackCommands } from './stack';

/** Every command family, each in its own module. */
export function registerCommands(program: Command): void {
  registerOrgCommands(program);
  registerConnectorCommands(program);
  registerDemoCommands(program);
  registerBudgetCommands(program);
  registerStackCommands(program);
  registerCodecCommands(program);
}
