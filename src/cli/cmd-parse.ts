import type { Command } from 'commander';

/** TODO: filled in by the owner of this command. */
export function registerParseCommand(program: Command): void {
  void program;
}
