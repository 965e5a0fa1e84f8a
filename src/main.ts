// Process entry of `kubescribe run`: load settings, build the app, start, stop on SIGTERM/SIGINT.
import { buildApp } from './app.ts';
import { KubescribeError } from './errors.ts';
import { createLogger } from './logger.ts';
import { optimizeForSize } from './optimize-for-size.ts';
import { loadSecrets, loadSettingsFile } from './settings/index.ts';

export async function run(argv: string[]): Promise<void> {
  const i = argv.indexOf('--settings');
  const file = i >= 0 ? argv[i + 1] : process.env.KUBESCRIBE_SETTINGS;
  if (!file) {
    process.stderr.write('usage: kubescribe run --settings <file>   (or KUBESCRIBE_SETTINGS=<file>)\n');
    process.exitCode = 2;
    return;
  }
  let logger = createLogger();
  try {
    const settings = loadSettingsFile(file);
    logger = createLogger(settings.logLevel);
    const secrets = loadSecrets(settings);
    const app = await buildApp(settings, secrets, logger);
    await app.start();
    // After the start: the webhook thread's heap is created as V8 sizes it by default. Created
    // for size, its young generation is smaller and a review cost ~20% more CPU (bench/webhook.ts).
    optimizeForSize(settings.memory.optimizeForSize);
    logger.info({ webhook: `${settings.webhook.host}:${settings.webhook.port}`, server: `${settings.server.host}:${settings.server.port}`, bootstrapRepo: settings.git?.url.replace(/\/\/[^@/]*@/, '//'), branch: settings.git?.branch, customResources: settings.customResources.enabled }, 'kubescribe started');
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      app.stop().then(() => process.exit(0), (err: unknown) => { logger.error({ err }, 'stop failed'); process.exit(1); });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  } catch (err) {
    if (err instanceof KubescribeError) logger.fatal({ code: err.code }, err.message);
    else logger.fatal({ err }, 'kubescribe failed to start');
    process.exitCode = 1;
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly) {
  const args = process.argv.slice(2);
  await run(args[0] === 'run' ? args.slice(1) : args);
}
