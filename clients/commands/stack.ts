import type { Command } from 'commander';

/** `sv0 stack ...` commands. */
export function registerStackCommands(_program: Command): void {}
