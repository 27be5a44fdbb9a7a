import { parse, type CollectionTag, type ScalarTag, type YAMLMap, type YAMLSeq } from 'yaml';

/**
 * CloudFormation's short-form tags (`!Ref`, `!Sub`, `!If`, ...) as a YAML schema: each becomes its
 * long form (`{ Ref: ... }`, `{ 'Fn::Sub': ... }`), as CloudFormation reads them.
 */
const FUNCTIONS = [
  'Base64',
  'Cidr',
  'FindInMap',
  'GetAtt',
  'GetAZs',
  'ImportValue',
  'Join',
  'Select',
  'Split',
  'Sub',
  'Transform',
  'And',
  'Equals',
  'If',
  'Not',
  'Or',
  'ToJsonString',
  'Length',
];

function longName(name: string): string {
  return name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
}

/** `!GetAtt a.b` is `{ 'Fn::GetAtt': ['a', 'b'] }`; other scalars stay strings. */
function scalarValue(name: string, value: string): unknown {
  if (name === 'GetAtt') {
    const dot = value.indexOf('.');
    return [value.slice(0, dot), value.slice(dot + 1)];
  }
  return value;
}

function tagsFor(name: string): (ScalarTag | CollectionTag)[] {
  const key = longName(name);
  const tag = `!${name}`;
  const collection = (node: YAMLSeq.Parsed | YAMLMap.Parsed): unknown => ({
    [key]: node.toJSON() as unknown,
  });
  const scalar: ScalarTag = {
    tag,
    resolve: (value: string) => ({ [key]: scalarValue(name, value) }),
  };
  const seq: CollectionTag = { tag, collection: 'seq', resolve: collection };
  const map: CollectionTag = { tag, collection: 'map', resolve: collection };
  return [scalar, seq, map];
}

export const CFN_TAGS = [...FUNCTIONS, 'Ref', 'Condition'].flatMap(tagsFor);

/** Parses a CloudFormation/SAM template written in YAML, short-form tags included. */
export function parseCfnYaml(text: string): unknown {
  return parse(text, { customTags: CFN_TAGS, uniqueKeys: true });
}
