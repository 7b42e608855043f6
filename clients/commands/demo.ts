import type { Command } from 'commander';

/** `sv0 demo ...` commands. */
export function registerDemoCommands(_program: Command): void {}
