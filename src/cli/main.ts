#!/usr/bin/env node
/** The `bgpt` command line. Every failure ends as one line on stderr and a non-zero exit. */
import { Command, CommanderError } from 'commander';
import { registerBench } from './bench.js';
import { registerClassify } from './classify.js';
import { registerCompress } from './compress.js';
import { registerCpu } from './cpu.js';
import { registerData } from './data.js';
import { registerDemo } from './demo.js';
import { registerDetect } from './detect.js';
import { registerEval } from './eval.js';
import { registerExport } from './export.js';
import { registerGallery } from './gallery.js';
import { registerConvert, registerGenerate } from './generate.js';
import { registerInfo } from './info.js';
import { registerInspect } from './inspect.js';
import { registerPlot } from './plot.js';
import { registerServe } from './serve.js';
import { registerTrain } from './train.js';
import { registerWeb } from './web.js';
import { printable } from '../util/text.js';
import { VERSION } from '../version.js';

// `bgpt … | head` closes stdout early: that is the reader's choice, not an error
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const program = new Command();
program
  .name('bgpt')
  .description('byte models (bGPT): train, score and run models that read and write raw bytes')
  .version(VERSION)
  .showHelpAfterError('(run bgpt help for usage)')
  // a subcommand's options are its own (`bench --config` and `bench serve --config` differ)
  .enablePositionalOptions()
  .exitOverride();

registerDemo(program);
registerTrain(program);
registerEval(program);
registerGenerate(program);
registerConvert(program);
registerClassify(program);
registerDetect(program);
registerExport(program);
registerInspect(program);
registerInfo(program);
registerCpu(program);
registerData(program);
registerGallery(program);
registerPlot(program);
registerBench(program);
registerCompress(program);
registerServe(program);
registerWeb(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  process.stderr.write(`bgpt: ${printable((e as Error).message)}\n`);
  if (process.env.BGPT_DEBUG) console.error(e);
  process.exit(1);
}
