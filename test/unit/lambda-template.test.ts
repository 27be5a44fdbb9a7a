import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { PgcopyError } from '../../src/errors.js';
import { ERROR_TYPES, withErrorType } from '../../src/lambda/error-type.js';
import { FAILED_LISTED, itemSummary } from '../../src/lambda/item-summary.js';
import { RunFailedError } from '../../src/lambda/run-failed.js';
import type { RunReport, TableResult } from '../../src/report/events.js';
import { checkRunId } from '../../src/run-id.js';
import { parseCfnYaml } from '../support/cfn-yaml.js';

const file = fileURLToPath(new URL('../../deploy/template.yaml', import.meta.url));

interface Resource {
  readonly Type: string;
  readonly Condition?: string;
  readonly Properties: Record<string, unknown>;
}
interface Template {
  readonly Transform: string;
  readonly Parameters: Record<string, { Type: string; Default?: unknown }>;
  readonly Conditions: Record<string, unknown>;
  readonly Resources: Record<string, Resource>;
}
interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}
type State = Record<string, unknown> & { Type: string };

const template = parseCfnYaml(readFileSync(file, 'utf8')) as Template;
const resource = (name: string): Resource => {
  const found = template.Resources[name];
  if (!found) throw new Error(`no resource ${name}`);
  return found;
};

/** The role's statements: those always present, and those under `!If [condition, statement, NoValue]`. */
function statements(): { always: Statement[]; conditional: Map<string, Statement> } {
  const role = resource('FunctionRole').Properties as {
    Policies: { PolicyDocument: { Statement: unknown[] } }[];
  };
  const always: Statement[] = [];
  const conditional = new Map<string, Statement>();
  for (const item of role.Policies.flatMap((p) => p.PolicyDocument.Statement)) {
    const branch = (item as { 'Fn::If'?: [string, Statement, unknown] })['Fn::If'];
    if (branch) {
      expect(branch[2]).toEqual({ Ref: 'AWS::NoValue' });
      conditional.set(branch[0], branch[1]);
    } else always.push(item as Statement);
  }
  return { always, conditional };
}

const actions = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

interface Retrier {
  readonly ErrorEquals: string[];
  readonly MaxAttempts: number;
  readonly BackoffRate?: number;
}
type MapState = State & {
  MaxConcurrency: string;
  ItemSelector: string;
  ItemProcessor: { StartAt: string; States: Record<string, State> };
};
type TaskState = State & { Retry: Retrier[]; Catch: { ErrorEquals: string[] }[] };

function definition(): { QueryLanguage: string; StartAt: string; States: Record<string, State> } {
  return resource('FanOut').Properties['Definition'] as ReturnType<typeof definition>;
}
const fanOut = (): MapState => definition().States['CopyEach'] as MapState;
const itemState = (name: string): State => {
  const found = fanOut().ItemProcessor.States[name];
  if (!found) throw new Error(`no item state ${name}`);
  return found;
};
const copyTask = (): TaskState => itemState('Copy') as TaskState;

/** DefinitionSubstitutions as a deployment with an image would give them. */
const SUBSTITUTIONS: Readonly<Record<string, string>> = {
  FunctionArn: 'arn:aws:lambda:ap-southeast-2:123456789012:function:pgcopy',
  MaxConcurrency: '4',
  ItemBudgetBytes: '2147483648',
  EcsAboveBytes: '8589934592',
  EcsEnabled: 'true',
  EcsCluster: 'arn:aws:ecs:ap-southeast-2:123456789012:cluster/pgcopy',
  EcsTaskDefinition: 'arn:aws:ecs:ap-southeast-2:123456789012:task-definition/pgcopy:1',
  EcsConfigPath: '/etc/pgcopy/pgcopy.yaml',
  EcsSubnets: 'subnet-1","subnet-2',
  EcsSecurityGroups: 'sg-1',
  EcsAssignPublicIp: 'DISABLED',
};

/** `${Name}` replaced as CloudFormation does with the state machine's DefinitionSubstitutions. */
function substitute(
  text: string,
  values: Readonly<Record<string, string>> = SUBSTITUTIONS,
): string {
  return text.replace(/\$\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}

/** A JSONata field of the definition evaluated as Step Functions does, `$hash` included. */
async function evaluate(
  field: unknown,
  states: unknown,
  values: Readonly<Record<string, string>> = SUBSTITUTIONS,
): Promise<unknown> {
  expect(typeof field).toBe('string');
  const text = substitute(String(field).trim(), values);
  expect(text.startsWith('{%') && text.endsWith('%}')).toBe(true);
  const expression = jsonata(text.slice(2, -2));
  expression.registerFunction(
    'hash',
    (value: string, algorithm: string) =>
      createHash(algorithm.replace('-', '').toLowerCase()).update(value).digest('hex'),
    '<ss:s>',
  );
  return expression.evaluate({}, { states });
}

/** The ItemSelector's item for the `index`th item of execution `name`. */
function selected(name: string, index: number, value: unknown): Promise<unknown> {
  return evaluate(fanOut().ItemSelector, {
    context: { Execution: { Name: name }, Map: { Item: { Index: index, Value: value } } },
  });
}

describe('deploy/template.yaml', () => {
  it('parses with a schema that knows CloudFormation short-form tags, as a SAM template', () => {
    expect(template.Transform).toBe('AWS::Serverless-2016-10-31');
    expect(template.Conditions['HasVpc']).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ 'Fn::Join': ['', { Ref: 'SubnetIds' }] }, ''] }],
    });
    expect(resource('FunctionRole').Properties).toBeDefined();
  });

  it('runs the bundle on nodejs22.x with the timeout, memory and optional VPC as parameters', () => {
    const fn = resource('Function');
    expect(fn.Type).toBe('AWS::Serverless::Function');
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      CodeUri: '../dist/lambda/function.zip',
      Timeout: { Ref: 'TimeoutSeconds' },
      MemorySize: { Ref: 'MemorySize' },
      Role: { 'Fn::GetAtt': ['FunctionRole', 'Arn'] },
      VpcConfig: {
        'Fn::If': [
          'HasVpc',
          { SubnetIds: { Ref: 'SubnetIds' }, SecurityGroupIds: { Ref: 'SecurityGroupIds' } },
          { Ref: 'AWS::NoValue' },
        ],
      },
    });
    expect(template.Parameters['SubnetIds']?.Default).toBe('');
  });

  it('grants the function only logs, Secrets Manager (scoped to the prefix) and optional KMS actions', () => {
    const { always, conditional } = statements();
    const granted = always.flatMap(actions);
    expect((conditional.get('TracingOn') as Statement).Resource).toBe('*');
    expect(actions(conditional.get('TracingOn') as Statement)).toEqual([
      'xray:PutTraceSegments',
      'xray:PutTelemetryRecords',
    ]);
    expect(conditional.get('HasExtraSecrets')).toMatchObject({
      Action: 'secretsmanager:GetSecretValue',
      Resource: { Ref: 'ExtraSecretArns' },
    });
    expect(granted.every((a) => /^(logs|secretsmanager|kms):/.test(a))).toBe(true);
    expect(granted.some((a) => a.includes('*'))).toBe(false);
    const secrets = always.filter((s) => actions(s).some((a) => a.startsWith('secretsmanager:')));
    expect(secrets.flatMap(actions)).toEqual(['secretsmanager:GetSecretValue']);
    for (const s of secrets) {
      expect(s.Resource).toEqual({
        'Fn::Sub':
          'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${SecretsPrefix}/*',
      });
    }
    const logs = always.filter((s) => actions(s).some((a) => a.startsWith('logs:')));
    expect(logs.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': ['FunctionLogGroup', 'Arn'] }]);

    expect(actions(conditional.get('HasKmsKey') as Statement)).toEqual(['kms:Decrypt']);
    expect((conditional.get('HasKmsKey') as Statement).Resource).toEqual({ Ref: 'KmsKeyArn' });
    // The one exception, only when the function runs in a VPC: Lambda's own network interfaces.
    const vpc = conditional.get('HasVpc') as Statement;
    expect(actions(vpc).sort()).toEqual([
      'ec2:AssignPrivateIpAddresses',
      'ec2:CreateNetworkInterface',
      'ec2:DeleteNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:UnassignPrivateIpAddresses',
    ]);
    expect([...conditional.keys()].sort()).toEqual([
      'HasExtraSecrets',
      'HasKmsKey',
      'HasVpc',
      'TracingOn',
    ]);
  });

  it('fans out with a Map state: bounded concurrency, retries with backoff, only of transient failures', () => {
    const machine = resource('FanOut');
    expect(machine.Type).toBe('AWS::Serverless::StateMachine');
    expect((machine.Properties['Policies'] as unknown[])[0]).toEqual({
      LambdaInvokePolicy: { FunctionName: { Ref: 'Function' } },
    });
    const map = fanOut();
    expect(definition().QueryLanguage).toBe('JSONata');
    expect(map.Type).toBe('Map');
    expect(map.MaxConcurrency).toBe('{% ${MaxConcurrency} %}');
    expect(machine.Properties['DefinitionSubstitutions']).toMatchObject({
      MaxConcurrency: { Ref: 'MaxConcurrency' },
    });
    const task = copyTask();
    expect(task.Resource).toBe('arn:aws:states:::lambda:invoke');
    expect(task.Retry.length).toBeGreaterThan(0);
    expect(task.Retry.every((r) => r.MaxAttempts > 0 && (r.BackoffRate ?? 1) > 1)).toBe(true);
    // Every item fails into the Catch after its retries: the other items still run (the time
    // limit first, which goes on in an ECS task where the stack has an image).
    expect(task.Catch.map((c) => c.ErrorEquals)).toEqual([[ERROR_TYPES.timeLimit], ['States.ALL']]);
    // Every state the definition names exists.
    const next = (states: Record<string, State>): string[] =>
      Object.values(states).flatMap((s) => [
        ...(typeof s['Next'] === 'string' ? [s['Next']] : []),
        ...((s['Catch'] as { Next: string }[] | undefined) ?? []).map((c) => c.Next),
        ...((s['Choices'] as { Next: string }[] | undefined) ?? []).map((c) => c.Next),
        ...(typeof s['Default'] === 'string' ? [s['Default']] : []),
      ]);
    const { States } = definition();
    for (const name of next(States)) expect(States).toHaveProperty([name]);
    for (const name of next(map.ItemProcessor.States)) {
      expect(map.ItemProcessor.States).toHaveProperty([name]);
    }
  });

  it("bug: a retried item appended again what it had committed, and a duplicate key was retried: only PgcopyTransient (and the Lambda service's own errors) is retried", () => {
    const retried = copyTask().Retry.flatMap((r) => r.ErrorEquals);
    // No catch-all: States.ALL or States.TaskFailed would retry every pgcopy failure.
    expect(retried.filter((e) => e.startsWith('States.'))).toEqual([]);
    expect(retried.filter((e) => !e.startsWith('Lambda.')).sort()).toEqual([ERROR_TYPES.transient]);
    for (const lasting of [
      ERROR_TYPES.tableFailed,
      ERROR_TYPES.timeLimit,
      ERROR_TYPES.config,
      ERROR_TYPES.failed,
      'ConfigError',
      'RunFailedError',
    ]) {
      expect(retried).not.toContain(lasting);
    }
    // The service's errors: the function did not run, or its answer was lost.
    expect(retried.filter((e) => e.startsWith('Lambda.')).sort()).toEqual([
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.ServiceException',
      'Lambda.TooManyRequestsException',
    ]);
  });

  it("gives each item a run id from the execution's name and the item's index, the same at every retry", async () => {
    const name = '3f6c2a9e-8b1d-4c55-9e0a-7d2b1c4e5f60';
    const item = { targets: ['one'], tables: ['items'], mode: 'append' };
    const first = await selected(name, 2, item);
    expect(first).toEqual({ ...item, runId: `${name}-2` });
    // A retry (and a redrive) evaluates the same execution name and index.
    expect(await selected(name, 2, item)).toEqual(first);
    expect(await selected(name, 3, item)).toEqual({ ...item, runId: `${name}-3` });
    expect(await selected(`${name}x`, 2, item)).not.toEqual(first);
    // The task sends the selected item as the event.
    expect(copyTask()['Arguments']).toMatchObject({ Payload: '{% $states.input %}' });
  });

  it('a run id the function accepts whatever the execution is named; an item may bring its own', async () => {
    // Execution names may hold characters a run id may not (and up to 80 of them).
    for (const name of ['nightly+2026=12', 'ñightly', 'a'.repeat(80), 'x@y']) {
      const { runId } = (await selected(name, 9999, {})) as { runId: string };
      expect(checkRunId(runId, 'runId')).toBe(runId);
    }
    const hashed = (await selected('nightly+1', 0, {})) as { runId: string };
    expect(hashed.runId).toMatch(/^[0-9a-f]{64}-0$/);
    const other = (await selected('nightly+2', 0, {})) as { runId: string };
    expect(other.runId).not.toBe(hashed.runId);
    expect(await selected('exec', 0, { runId: 'backfill-7', dryRun: true })).toEqual({
      runId: 'backfill-7',
      dryRun: true,
    });
  });

  it('schedules the state machine through EventBridge Scheduler only when asked', () => {
    const schedule = resource('Schedule');
    expect(schedule.Type).toBe('AWS::Scheduler::Schedule');
    expect(schedule.Condition).toBe('HasSchedule');
    expect(resource('ScheduleRole').Condition).toBe('HasSchedule');
    expect(schedule.Properties['Target']).toMatchObject({ Arn: { Ref: 'FanOut' } });
  });

  it('schedules sync catch-ups of the function only when a SyncScheduleExpression is given', () => {
    const schedule = resource('SyncSchedule');
    expect(schedule.Type).toBe('AWS::Scheduler::Schedule');
    expect(schedule.Condition).toBe('HasSyncSchedule');
    expect(resource('SyncScheduleRole').Condition).toBe('HasSyncSchedule');
    const target = schedule.Properties['Target'] as { Arn: unknown; Input: string };
    expect(target.Arn).toEqual({ 'Fn::GetAtt': ['Function', 'Arn'] });
    expect(JSON.parse(target.Input)).toEqual({ sync: true });
    expect(resource('SyncScheduleRole').Properties['PermissionsBoundary']).toEqual({
      'Fn::If': ['HasBoundary', { Ref: 'PermissionsBoundaryArn' }, { Ref: 'AWS::NoValue' }],
    });
  });
});

/** A table's result as a run's report holds it (the shape of src/report/events.ts). */
function tableResult(i: number, failed: boolean): TableResult {
  return {
    target: `target_${i % 3}`,
    source: `some_rather_long_table_name_${String(i).padStart(4, '0')}`,
    table: `some_rather_long_table_name_${String(i).padStart(4, '0')}`,
    status: failed ? 'error' : 'done',
    rows: failed ? 0 : 123_456,
    bytes: failed ? 0 : 98_765_432,
    seconds: 12.345,
    strategy: 'stream',
    format: 'binary',
    mode: 'truncate',
    columns: ['id', 'name', 'payload', 'created_at', 'updated_at'],
    skipped: { sourceOnly: [], targetOnly: [] },
    warnings: [],
    error: failed
      ? {
          code: 'POSTGRES',
          message: `duplicate key value violates unique constraint "pk_${i}"`,
          sqlstate: '23505',
        }
      : null,
    planHash: 'f'.repeat(64),
  };
}

function reportOf(tables: TableResult[]): RunReport {
  const failed = tables.some((t) => t.status === 'error');
  return {
    runId: 'nightly-0',
    version: '0.1.0',
    startedAt: '2026-12-06T02:00:00.000Z',
    finishedAt: '2026-12-06T02:14:00.000Z',
    status: failed ? 'error' : 'done',
    snapshot: '00000003-0000001B-1',
    configId: 'c'.repeat(64),
    tables,
  };
}

/** What Step Functions puts in $states.errorOutput when the function threw. */
function lambdaError(error: Error): { Error: string; Cause: string } {
  return {
    Error: error.name,
    Cause: JSON.stringify({
      errorType: error.name,
      errorMessage: error.message,
      trace: (error.stack ?? '').split('\n'),
    }),
  };
}

describe('deploy/template.yaml: items, results that fit, long items on ECS', () => {
  const planItems = definition().States['PlanItems'] as State & {
    Arguments: { Payload: string };
    Output: string;
  };

  it('asks the function for the items when the input has none, and iterates over what it returned', async () => {
    const start = definition().States[definition().StartAt] as State & {
      Choices: { Condition: string; Next: string }[];
      Default: string;
    };
    expect(start.Default).toBe('PlanItems');
    expect(await evaluate(start.Choices[0]?.Condition, { input: { items: [] } })).toBe(true);
    expect(await evaluate(start.Choices[0]?.Condition, { input: {} })).toBe(false);
    expect(
      await evaluate(planItems.Arguments.Payload, {
        input: { targets: ['one'], mode: 'append', verify: true, other: 1 },
      }),
    ).toEqual({
      targets: ['one'],
      mode: 'append',
      verify: true,
      action: 'items',
      budgetBytes: 2147483648,
    });
    // The function's answer (the items action's shape), as the Map's input.
    const items = [
      { targets: ['one', 'two'], tables: ['a', 'b'], estimatedBytes: 1000, pairs: 4 },
      { targets: ['one'], tables: ['c'], estimatedBytes: 9e9, pairs: 1, mode: 'append' },
    ];
    const payload = { action: 'items', items, pairs: 5, estimatedBytes: 9e9 + 1000, runId: 'x' };
    expect(await evaluate(planItems.Output, { result: { Payload: payload } })).toEqual({ items });
    expect(await selected('exec', 1, items[1])).toEqual({ ...items[1], runId: 'exec-1' });
  });

  it('routes an item estimated above EcsAboveBytes to ECS, only when the stack has an image', async () => {
    const route = itemState('Route') as State & { Choices: { Condition: string; Next: string }[] };
    expect(fanOut().ItemProcessor.StartAt).toBe('Route');
    const condition = route.Choices[0]?.Condition;
    expect(route.Choices[0]?.Next).toBe('CopyOnEcs');
    expect(route['Default']).toBe('Copy');
    expect(await evaluate(condition, { input: { estimatedBytes: 9e9 } })).toBe(true);
    expect(await evaluate(condition, { input: { estimatedBytes: 1e9 } })).toBe(false);
    expect(await evaluate(condition, { input: {} })).toBe(false);
    const noImage = { ...SUBSTITUTIONS, EcsEnabled: 'false' };
    expect(await evaluate(condition, { input: { estimatedBytes: 9e9 } }, noImage)).toBe(false);
  });

  it('an invocation that hit the time limit goes on as an ECS task under the same run id', async () => {
    const timeLimit = copyTask().Catch[0] as {
      ErrorEquals: string[];
      Next: string;
      Output: string;
    };
    expect(timeLimit.ErrorEquals).toEqual([ERROR_TYPES.timeLimit]);
    const item = { runId: 'exec-3', targets: ['one'], tables: ['big'], mode: 'append' };
    const error = lambdaError(
      withErrorType(new PgcopyError('TIMEOUT', 'the Lambda time limit: one.big rolled back')),
    );
    expect(error.Error).toBe('PgcopyTimeLimit');
    const carried = (await evaluate(timeLimit.Output, { input: item, errorOutput: error })) as {
      runId: string;
    };
    expect(carried).toMatchObject(item);
    const after = itemState(timeLimit.Next) as State & {
      Choices: { Condition: string; Next: string }[];
    };
    expect(await evaluate(after.Choices[0]?.Condition, {})).toBe(true);
    expect(after.Choices[0]?.Next).toBe('CopyOnEcs');
    const noImage = { ...SUBSTITUTIONS, EcsEnabled: 'false' };
    expect(await evaluate(after.Choices[0]?.Condition, {}, noImage)).toBe(false);
    const failed = itemState(after['Default'] as string) as State & { Output: string };
    expect(await evaluate(failed.Output, { input: carried })).toMatchObject({
      runId: 'exec-3',
      error: 'PgcopyTimeLimit',
    });

    const ecs = itemState('CopyOnEcs') as State & {
      Resource: string;
      Arguments: {
        NetworkConfiguration: { AwsvpcConfiguration: { Subnets: string } };
        Overrides: { ContainerOverrides: { Name: string; Command: string }[] };
      };
      Output: string;
    };
    expect(ecs.Resource).toBe('arn:aws:states:::ecs:runTask.sync');
    const override = ecs.Arguments.Overrides.ContainerOverrides[0];
    expect(override?.Name).toBe('pgcopy');
    expect(await evaluate(override?.Command, { input: carried })).toEqual([
      'run',
      '-c',
      '/etc/pgcopy/pgcopy.yaml',
      '--json',
      '--run-id',
      'exec-3',
      '--target',
      'one',
      '--table',
      'big',
      '--mode',
      'append',
    ]);
    // Without EcsConfigPath (the default), the task reads PgcopyConfig as PGCOPY_CONFIG: no -c.
    expect(
      await evaluate(
        override?.Command,
        { input: { runId: 'r-0', tables: ['t'] } },
        { ...SUBSTITUTIONS, EcsConfigPath: '' },
      ),
    ).toEqual(['run', '--json', '--run-id', 'r-0', '--table', 't']);
    const itemTask = template.Resources['ItemTaskDefinition'] as
      { Properties: { ContainerDefinitions: { Environment: unknown }[] } } | undefined;
    expect(JSON.stringify(itemTask?.Properties.ContainerDefinitions[0]?.Environment)).toContain(
      'PGCOPY_CONFIG',
    );
    expect(
      await evaluate(override?.Command, {
        input: { runId: 'r-1', targets: ['a', 'b'], tables: ['t'], verify: true },
      }),
    ).toEqual([
      'run',
      '-c',
      '/etc/pgcopy/pgcopy.yaml',
      '--json',
      '--run-id',
      'r-1',
      '--target',
      'a',
      '--target',
      'b',
      '--table',
      't',
      '--verify',
    ]);
    expect(
      await evaluate(ecs.Arguments.NetworkConfiguration.AwsvpcConfiguration.Subnets, {}),
    ).toEqual(['subnet-1', 'subnet-2']);

    // runTask.sync succeeds whatever the exit code: the code decides.
    const task = {
      Containers: [{ ExitCode: 1 }],
      StoppedReason: 'Essential container in task exited',
    };
    const out = await evaluate(ecs.Output, { input: carried, result: task });
    const exit = itemState(ecs['Next'] as string) as State & { Choices: { Condition: string }[] };
    expect(await evaluate(exit.Choices[0]?.Condition, { input: out })).toBe(false);
    const ecsFailed = itemState(exit['Default'] as string) as State & { Output: string };
    expect(await evaluate(ecsFailed.Output, { input: out })).toEqual({
      runId: 'exec-3',
      error: 'PgcopyTaskExit',
      cause: 'exit code 1: Essential container in task exited',
    });
    const ok = await evaluate(ecs.Output, {
      input: carried,
      result: { Containers: [{ ExitCode: 0 }] },
    });
    expect(await evaluate(exit.Choices[0]?.Condition, { input: ok })).toBe(true);
  });

  it("a 1,000-table run's item results keep the execution's state under 64 KiB, failed ones too", async () => {
    const task = copyTask();
    const failedCatch = task.Catch.find((c) => c.ErrorEquals.includes('States.ALL')) as unknown as {
      Output: string;
    };
    const results: unknown[] = [];
    // 50 items of 20 tables; every third item has failed tables (one item all of them).
    for (let item = 0; item < 50; item++) {
      const tables = Array.from({ length: 20 }, (_, i) =>
        tableResult(item * 20 + i, item === 7 || (item % 3 === 0 && i % 4 === 0)),
      );
      const report = reportOf(tables);
      const input = {
        runId: `nightly-${item}`,
        targets: ['target_0'],
        tables: tables.map((t) => t.table),
      };
      if (report.status === 'error') {
        const error = lambdaError(withErrorType(new RunFailedError(report)));
        results.push(await evaluate(failedCatch.Output, { input, errorOutput: error }));
      } else {
        const summary = itemSummary(report, input.runId);
        results.push(await evaluate(task['Output'], { input, result: { Payload: summary } }));
      }
    }
    const size = Buffer.byteLength(JSON.stringify(results));
    expect(size).toBeLessThan(64 * 1024);
    // The summary is the function's, key by key; nothing of the full report.
    const done = results.find((r) => (r as { status?: string }).status === 'done');
    expect(Object.keys(done as object).sort()).toEqual([
      'bytes',
      'done',
      'failed',
      'failedPairs',
      'more',
      'pairs',
      'rows',
      'runId',
      'skipped',
      'status',
      'warnings',
    ]);
    const check = definition().States['CheckItems'] as State & { Choices: { Condition: string }[] };
    expect(await evaluate(check.Choices[0]?.Condition, { input: results })).toBe(true);
    const fail = definition().States['SomeItemsFailed'] as State & { Cause: string };
    expect(String(await evaluate(fail.Cause, { input: results })).length).toBeLessThanOrEqual(
      30000,
    );
  });

  it('a summary of 1,000 failed tables is as small as one of 25', () => {
    const big = itemSummary(
      reportOf(Array.from({ length: 1000 }, (_, i) => tableResult(i, true))),
      'r',
    );
    expect(big).toMatchObject({ pairs: 1000, failed: 1000, more: 1000 - FAILED_LISTED });
    expect(big.failedPairs).toHaveLength(FAILED_LISTED);
    expect(Buffer.byteLength(JSON.stringify(big))).toBeLessThan(4096);
    const message = new RunFailedError(
      reportOf(Array.from({ length: 1000 }, (_, i) => tableResult(i, true))),
    ).message;
    expect(message.length).toBeLessThan(12_000);
    expect(message).toContain('980 more failed table(s)');
  });

  it('the state machine definition validates (asl-validator), with the substitutions made', () => {
    const substituted = (value: unknown): unknown =>
      typeof value === 'string'
        ? substitute(value)
        : Array.isArray(value)
          ? value.map(substituted)
          : typeof value === 'object' && value !== null
            ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituted(v)]))
            : value;
    const validate = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => {
      isValid: boolean;
      errors: unknown[];
    };
    // A copy: the validator writes each state's QueryLanguage into what it is given.
    const result = validate(substituted(definition()));
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });
});

describe('deploy/template.yaml: signals and the deployment switches', () => {
  it('logs the state machine, traces with X-Ray only when asked, tags what it makes', () => {
    const machine = resource('FanOut').Properties;
    expect(machine['Logging']).toEqual({
      Level: 'ERROR',
      IncludeExecutionData: false,
      Destinations: [
        { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': ['FanOutLogGroup', 'Arn'] } } },
      ],
    });
    expect(machine['Tracing']).toEqual({ Enabled: { 'Fn::If': ['TracingOn', true, false] } });
    expect(resource('Function').Properties['Tracing']).toEqual({
      'Fn::If': ['TracingOn', 'Active', 'PassThrough'],
    });
    expect(template.Parameters['Tracing']?.Default).toBe('false');
    for (const name of ['Function', 'FanOut']) {
      expect(resource(name).Properties['Tags']).toEqual({ project: { Ref: 'ProjectTag' } });
    }
    for (const name of [
      'FunctionLogGroup',
      'FanOutLogGroup',
      'FunctionRole',
      'ItemTaskDefinition',
      'ItemCluster',
    ]) {
      expect(resource(name).Properties['Tags']).toContainEqual({
        Key: 'project',
        Value: { Ref: 'ProjectTag' },
      });
    }
  });

  it('alarms on failed, timed-out or aborted executions and on a night without success, to the SNS topic', () => {
    const actions = {
      'Fn::If': ['HasAlarmTopic', [{ Ref: 'AlarmTopicArn' }], { Ref: 'AWS::NoValue' }],
    };
    const failed = resource('FailedExecutionsAlarm').Properties;
    expect(failed['AlarmActions']).toEqual(actions);
    const metrics = failed['Metrics'] as {
      Id: string;
      MetricStat?: { Metric: { MetricName: string; Dimensions: unknown } };
    }[];
    expect(metrics.flatMap((m) => m.MetricStat?.Metric.MetricName ?? []).sort()).toEqual([
      'ExecutionsAborted',
      'ExecutionsFailed',
      'ExecutionsTimedOut',
    ]);
    for (const m of metrics.filter((x) => x.MetricStat)) {
      expect(m.MetricStat?.Metric.Dimensions).toEqual([
        { Name: 'StateMachineArn', Value: { Ref: 'FanOut' } },
      ]);
    }
    const missing = resource('MissingSuccessAlarm');
    expect(missing.Condition).toBe('HasSchedule');
    expect(missing.Properties).toMatchObject({
      MetricName: 'ExecutionsSucceeded',
      Period: 86400,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
      AlarmActions: actions,
    });
  });

  it('PgcopyConfig is NoEcho; extra secret ARNs and a permissions boundary are parameters', () => {
    const parameters = template.Parameters as Record<
      string,
      { Type: string; Default?: unknown; NoEcho?: boolean }
    >;
    expect(parameters['PgcopyConfig']?.NoEcho).toBe(true);
    expect(parameters['ExtraSecretArns']).toMatchObject({
      Type: 'CommaDelimitedList',
      Default: '',
    });
    expect(parameters['PermissionsBoundaryArn']).toMatchObject({ Type: 'String', Default: '' });
    expect(parameters['AlarmTopicArn']).toMatchObject({ Type: 'String', Default: '' });
    const boundary = {
      'Fn::If': ['HasBoundary', { Ref: 'PermissionsBoundaryArn' }, { Ref: 'AWS::NoValue' }],
    };
    for (const name of [
      'FunctionRole',
      'ItemTaskRole',
      'ItemTaskExecutionRole',
      'ScheduleRole',
      'FanOut',
    ]) {
      expect(resource(name).Properties['PermissionsBoundary']).toEqual(boundary);
    }
  });

  it("the ECS task: Fargate, the image as a parameter, the function's secrets only, made only with an image", () => {
    for (const name of [
      'ItemCluster',
      'ItemTaskDefinition',
      'ItemTaskRole',
      'ItemTaskExecutionRole',
      'ItemTaskLogGroup',
    ]) {
      expect(resource(name).Condition).toBe('HasImage');
    }
    const task = resource('ItemTaskDefinition').Properties;
    expect(task).toMatchObject({
      RequiresCompatibilities: ['FARGATE'],
      NetworkMode: 'awsvpc',
      Cpu: { Ref: 'EcsCpu' },
      Memory: { Ref: 'EcsMemory' },
    });
    expect((task['ContainerDefinitions'] as { Name: string; Image: unknown }[])[0]).toMatchObject({
      Name: 'pgcopy',
      Image: { Ref: 'ImageUri' },
    });
    const role = resource('ItemTaskRole').Properties as {
      Policies: { PolicyDocument: { Statement: Statement[] } }[];
    };
    const plain = role.Policies.flatMap((p) => p.PolicyDocument.Statement).filter(
      (s) => 'Action' in s,
    );
    expect(plain.flatMap(actions)).toEqual(['secretsmanager:GetSecretValue']);
  });
});
