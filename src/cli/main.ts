#!/usr/bin/env node
/** The `bgpt` command line. Every failure ends as one line on stderr and a non-zero exit. */
import { Command, CommanderError } from 'commander';
import { registerBench } from './bench.js';
import { registerClassify } from './classify.js';
import { registerDemo } from './demo.js';
import { registerEval } from './eval.js';
import { registerConvert, registerGenerate } from './generate.js';
import { registerInfo } from './info.js';
import { VERSION } from '../version.js';

const program = new Command();
program
  .name('bgpt')
  .description('byte models (bGPT): train, score and run models that read and write raw bytes')
  .version(VERSION)
  .showHelpAfterError('(run bgpt help for usage)')
  .exitOverride();

registerDemo(program);
registerEval(program);
registerGenerate(program);
registerConvert(program);
registerClassify(program);
registerInfo(program);
registerBench(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  process.stderr.write(`bgpt: ${(e as Error).message}\n`);
  if (process.env.BGPT_DEBUG) console.error(e);
  process.exit(1);
}
