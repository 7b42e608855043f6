import type { Command } from 'commander';

/** `sv0 budget ...` commands. */
export function registerBudgetCommands(_program: Command): void {}
