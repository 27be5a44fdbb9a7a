import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
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

  it('fans out with a Map state: bounded concurrency, retries with backoff, none for a config error', () => {
    const machine = resource('FanOut');
    expect(machine.Type).toBe('AWS::Serverless::StateMachine');
    expect(machine.Properties['Policies']).toEqual([
      { LambdaInvokePolicy: { FunctionName: { Ref: 'Function' } } },
    ]);
    const definition = machine.Properties['Definition'] as {
      QueryLanguage: string;
      StartAt: string;
      States: Record<string, State>;
    };
    const map = definition.States[definition.StartAt] as State & {
      MaxConcurrency: string;
      ItemProcessor: { StartAt: string; States: Record<string, State> };
    };
    expect(map.Type).toBe('Map');
    expect(map.MaxConcurrency).toBe('{% ${MaxConcurrency} %}');
    expect(machine.Properties['DefinitionSubstitutions']).toMatchObject({
      MaxConcurrency: { Ref: 'MaxConcurrency' },
    });
    const task = map.ItemProcessor.States[map.ItemProcessor.StartAt] as State & {
      Retry: { ErrorEquals: string[]; MaxAttempts: number; BackoffRate?: number }[];
    };
    expect(task.Resource).toBe('arn:aws:states:::lambda:invoke');
    // Retriers are tried in order: the first that matches a ConfigError allows no attempt.
    expect(task.Retry[0]).toEqual({ ErrorEquals: ['ConfigError'], MaxAttempts: 0 });
    const rest = task.Retry.slice(1);
    expect(rest.some((r) => r.ErrorEquals.includes('States.ALL') && r.MaxAttempts > 0)).toBe(true);
    expect(rest.every((r) => (r.BackoffRate ?? 1) > 1)).toBe(true);
    // Every state the definition names exists.
    const next = (states: Record<string, State>): string[] =>
      Object.values(states).flatMap((s) => [
        ...(typeof s['Next'] === 'string' ? [s['Next']] : []),
        ...((s['Catch'] as { Next: string }[] | undefined) ?? []).map((c) => c.Next),
        ...((s['Choices'] as { Next: string }[] | undefined) ?? []).map((c) => c.Next),
        ...(typeof s['Default'] === 'string' ? [s['Default']] : []),
      ]);
    for (const name of next(definition.States)) expect(definition.States).toHaveProperty([name]);
    for (const name of next(map.ItemProcessor.States)) {
      expect(map.ItemProcessor.States).toHaveProperty([name]);
    }
  });

  it('schedules the state machine through EventBridge Scheduler only when asked', () => {
    const schedule = resource('Schedule');
    expect(schedule.Type).toBe('AWS::Scheduler::Schedule');
    expect(schedule.Condition).toBe('HasSchedule');
    expect(resource('ScheduleRole').Condition).toBe('HasSchedule');
    expect(schedule.Properties['Target']).toMatchObject({ Arn: { Ref: 'FanOut' } });
  });
});
