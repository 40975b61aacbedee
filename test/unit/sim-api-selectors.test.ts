import { describe, expect, it } from '@jest/globals';
import {
  fieldValue,
  matchFields,
  matchLabels,
  parseFieldSelector,
  parseLabelSelector,
} from '../../src/sim/kube/api/selectors.js';
import { ApiError } from '../../src/sim/kube/api/status.js';

const labels = { app: 'web', tier: 'front', env: 'prod' };

function matches(selector: string, l: Record<string, string> | undefined = labels): boolean {
  return matchLabels(parseLabelSelector(selector), l);
}

describe('label selectors', () => {
  it.each([
    ['app=web', true],
    ['app==web', true],
    ['app=db', false],
    ['app!=db', true],
    ['app!=web', false],
    ['missing!=x', true],
    ['env in (prod,staging)', true],
    ['env in (dev)', false],
    ['env notin (dev, staging)', true],
    ['missing notin (a)', true],
    ['tier', true],
    ['missing', false],
    ['!missing', true],
    ['!tier', false],
    ['app=web,env in (prod),!missing', true],
    ['app=web,tier=back', false],
    ['', true],
  ])('%s -> %s', (selector, expected) => {
    expect(matches(selector)).toBe(expected);
  });

  it('matches objects without labels only with negative requirements', () => {
    expect(matchLabels(parseLabelSelector('!app'), undefined)).toBe(true);
    expect(matchLabels(parseLabelSelector('app'), undefined)).toBe(false);
  });

  it('rejects malformed selectors with a 400', () => {
    expect(() => parseLabelSelector('app=(x')).toThrow(ApiError);
    expect(() => parseLabelSelector('a b c')).toThrow(expect.objectContaining({ code: 400 }));
  });
});

describe('field selectors', () => {
  const podFields = [
    'metadata.name',
    'metadata.namespace',
    'spec.nodeName',
    'status.phase',
    'spec.hostNetwork',
  ];
  const pod = {
    kind: 'Pod',
    metadata: { name: 'x', namespace: 'ns' },
    spec: { nodeName: 'node-1' },
    status: { phase: 'Running' },
  };

  it('matches = and != on registered fields', () => {
    expect(matchFields(parseFieldSelector('spec.nodeName=node-1,status.phase!=Failed', podFields), pod)).toBe(
      true,
    );
    expect(matchFields(parseFieldSelector('spec.nodeName==node-2', podFields), pod)).toBe(false);
    expect(matchFields(parseFieldSelector('metadata.name=x', podFields), pod)).toBe(true);
  });

  it('defaults boolean fields to "false" like the real server', () => {
    expect(matchFields(parseFieldSelector('spec.hostNetwork=false', podFields), pod)).toBe(true);
  });

  it('rejects unsupported fields with 400 "field label not supported"', () => {
    expect(() => parseFieldSelector('spec.containers=x', podFields)).toThrow(
      'field label not supported: spec.containers',
    );
  });

  it('reads an event source from source.component, else reportingComponent', () => {
    expect(fieldValue({ kind: 'Event', source: { component: 'kubelet' } }, 'source')).toBe('kubelet');
    expect(fieldValue({ kind: 'Event', reportingComponent: 'ctrl' }, 'source')).toBe('ctrl');
    expect(fieldValue({ kind: 'Event', involvedObject: { name: 'p' } }, 'regarding.name')).toBe('p');
  });
});
