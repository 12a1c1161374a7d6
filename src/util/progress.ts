/** Progress of a long job, as the command line shows it (cli/progress.ts); tasks report to it. */
export interface Progress {
  update(text: string): void;
  done(): void;
}
