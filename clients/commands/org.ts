import type { Command } from 'commander';

/** `sv0 org ...` commands. */
export function registerOrgCommands(_program: Command): void {}
