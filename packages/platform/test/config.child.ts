// Run by test/config.test.ts in a child process: loads a config from process.env as a service would.
import { composeEnv, loadConfig, serviceEnv, busEnv, databaseEnv } from '../src/config/index.ts';

const config = loadConfig(composeEnv(serviceEnv, busEnv, databaseEnv));
process.stdout.write(JSON.stringify(config));
