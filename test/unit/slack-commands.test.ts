import { describe, expect, it } from '@jest/globals';
import { parseFlannelCommand } from '../../src/slack/commands.js';

const clusters = ['prod', 'staging'];
const parse = (text: string) => parseFlannelCommand(text, clusters);

describe('/flannel parsing', () => {
  it('parses every subcommand', () => {
    expect(parse('diagnose prod')).toEqual({ kind: 'diagnose', cluster: 'prod' });
    expect(parse('  diagnose   staging  node-1.example ')).toEqual({
      kind: 'diagnose',
      cluster: 'staging',
      node: 'node-1.example',
    });
    expect(parse('status')).toEqual({ kind: 'status' });
    expect(parse('status prod')).toEqual({ kind: 'status', cluster: 'prod' });
    expect(parse('incidents')).toEqual({ kind: 'incidents' });
    expect(parse('timeline inc-ab23cd45')).toEqual({ kind: 'timeline', incidentId: 'inc-ab23cd45' });
    expect(parse('help')).toEqual({ kind: 'help' });
    expect(parse('')).toEqual({ kind: 'help' });
    expect(parse('DIAGNOSE prod')).toEqual({ kind: 'diagnose', cluster: 'prod' });
  });

  it.each([
    ['diagnose', /needs a cluster/],
    ['diagnose nope', /Unknown cluster "nope"/],
    ['status nope', /Unknown cluster/],
    ['frobnicate', /Unknown subcommand "frobnicate"/],
    ['timeline', /needs an incident id/],
    ['timeline 42', /not an incident id/],
    ['diagnose prod Bad_Node', /not a node name/],
    ['diagnose prod n1 extra', /Too many arguments/],
  ])('"%s" is an error that lists what is accepted and the clusters', (text, problem) => {
    const result = parse(text);
    expect(result.kind).toBe('error');
    const message = (result as { message: string }).message;
    expect(message).toMatch(problem);
    expect(message).toContain('/flannel diagnose CLUSTER [NODE]');
    expect(message).toContain('`prod`');
    expect(message).toContain('`staging`');
  });

  it('never echoes mrkdwn controls from what the user typed', () => {
    const result = parse('<!channel> now');
    expect(result.kind).toBe('error');
    expect((result as { message: string }).message).not.toMatch(/<!channel>/);
  });
});
