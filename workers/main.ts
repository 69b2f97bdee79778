/** `npm run worker -- --role control` or `npm run worker -- --capabilities build,deploy`: same as `ados worker`. */
import { runCli } from '../client/cli';

void runCli(['worker', ...process.argv.slice(2)]);
