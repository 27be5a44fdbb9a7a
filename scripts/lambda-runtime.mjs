// Loads and invokes a Lambda handler the way the AWS Lambda Node.js runtime does, in its own process.
//   node lambda-runtime.mjs TASK_ROOT HANDLER EVENT_FILE RESULT_FILE REMAINING_MS
// HANDLER is `module.function` (e.g. `index.handler`). As the runtime does, the module is
// `TASK_ROOT/module`: an extensionless file or `.js` is require()d unless the nearest package.json
// says "type": "module"; then `.js` (for type module) or `.mjs` is import()ed, else `.cjs` is
// require()d. Layers are found through NODE_PATH, as Lambda sets it. The handler's logs go to
// stdout/stderr; its result, or its error as Lambda reports it ({ errorType, errorMessage }), is
// written to RESULT_FILE.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [taskRoot, handlerName, eventFile, resultFile, remaining] = process.argv.slice(2);
const [moduleName, functionName] = handlerName.split('.');
const base = join(taskRoot, moduleName);
const requireFrom = createRequire(join(taskRoot, 'runtime.cjs'));

function typeModule(dir) {
  for (let d = dir; ; d = dirname(d)) {
    const pj = join(d, 'package.json');
    if (existsSync(pj)) return JSON.parse(readFileSync(pj, 'utf8')).type === 'module';
    if (dirname(d) === d) return false;
  }
}

async function load() {
  if (existsSync(base)) return requireFrom(base);
  const isModule = typeModule(taskRoot);
  if (!isModule && existsSync(`${base}.js`)) return requireFrom(`${base}.js`);
  if (isModule && existsSync(`${base}.js`)) return import(pathToFileURL(`${base}.js`).href);
  if (existsSync(`${base}.mjs`)) return import(pathToFileURL(`${base}.mjs`).href);
  if (existsSync(`${base}.cjs`)) return requireFrom(`${base}.cjs`);
  throw new Error(`Runtime.ImportModuleError: Cannot find module '${moduleName}'`);
}

const deadline = Date.now() + Number(remaining);
const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'pgcopy',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:ap-southeast-2:123456789012:function:pgcopy',
  memoryLimitInMB: '1024',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/pgcopy',
  logStreamName: '2026/11/24/[$LATEST]abcdef',
  getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

let outcome;
try {
  const module = await load();
  const handler = module[functionName];
  if (typeof handler !== 'function') {
    throw new Error(`Runtime.HandlerNotFound: ${handlerName} is undefined or not exported`);
  }
  const event = JSON.parse(readFileSync(eventFile, 'utf8'));
  outcome = { ok: true, result: await handler(event, context) };
} catch (error) {
  outcome = {
    ok: false,
    errorType: error instanceof Error ? error.name : typeof error,
    errorMessage: error instanceof Error ? error.message : String(error),
  };
}
writeFileSync(resultFile, JSON.stringify(outcome));
// Lambda freezes the process after the handler returns; here the process ends.
process.exit(0);
