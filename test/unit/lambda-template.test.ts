import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { ERROR_TYPES } from '../../src/lambda/error-type.js';
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
const fanOut = (): MapState => {
  const d = definition();
  return d.States[d.StartAt] as MapState;
};
const copyTask = (): TaskState => {
  const map = fanOut();
  return map.ItemProcessor.States[map.ItemProcessor.StartAt] as TaskState;
};

/** A JSONata field of the definition evaluated as Step Functions does, `$hash` included. */
async function evaluate(field: string, states: unknown): Promise<unknown> {
  expect(field.startsWith('{%') && field.endsWith('%}')).toBe(true);
  const expression = jsonata(field.slice(2, -2));
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
    expect([...conditional.keys()].sort()).toEqual(['HasKmsKey', 'HasVpc']);
  });

  it('fans out with a Map state: bounded concurrency, retries with backoff, only of transient failures', () => {
    const machine = resource('FanOut');
    expect(machine.Type).toBe('AWS::Serverless::StateMachine');
    expect(machine.Properties['Policies']).toEqual([
      { LambdaInvokePolicy: { FunctionName: { Ref: 'Function' } } },
    ]);
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
    // Every item fails into the Catch after its retries: the other items still run.
    expect(task.Catch.map((c) => c.ErrorEquals)).toEqual([['States.ALL']]);
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
});
