import type { Command } from 'commander';

/** `sv0 connectors ...` commands. */
export function registerConnectorCommands(_program: Command): void {}
