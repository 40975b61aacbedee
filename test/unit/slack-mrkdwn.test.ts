import { describe, expect, it } from '@jest/globals';
import { bold, code, codeBlock, escapeMrkdwn, limitList, mention, truncate } from '../../src/slack/mrkdwn.js';

describe('escapeMrkdwn', () => {
  it.each([
    ['<!channel>', '&lt;!channel&gt;'],
    ['<!here> wake up', '&lt;!here&gt; wake up'],
    ['<https://example.com|click>', '&lt;https://example.com|click&gt;'],
    ['<@U123>', '&lt;@U123&gt;'],
    ['a & b', 'a &amp; b'],
    ['&lt; already', '&amp;lt; already'],
  ])('%s is shown literally', (input, expected) => {
    expect(escapeMrkdwn(input)).toBe(expected);
  });

  it('leaves no raw control character whatever the input', () => {
    const hostile = 'pod-<!channel>-<@U1>-<#C1>-<!subteam^S1>-<http://x|y>&';
    expect(escapeMrkdwn(hostile)).not.toMatch(/[<>]/);
  });
});

describe('code spans and blocks', () => {
  it('a backtick cannot close the span and let the rest be formatted', () => {
    const out = code('x` <!channel> `y');
    expect(out.startsWith('`') && out.endsWith('`')).toBe(true);
    expect(out.slice(1, -1)).not.toContain('`');
    expect(out).toContain('&lt;!channel&gt;');
  });

  it('triple backticks cannot close a code block', () => {
    const out = codeBlock('a```<@U1>```b');
    expect(out.slice(3, -3)).not.toContain('```');
    expect(out).toContain('&lt;@U1&gt;');
  });

  it('bold text cannot end early', () => {
    expect(bold('a*b<x>')).toBe('*a∗b&lt;x&gt;*');
  });
});

describe('truncation', () => {
  it('cuts with a marker and keeps short text as is', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
  });

  it('limitList says how many were left out', () => {
    const { items, note } = limitList([1, 2, 3, 4, 5], 2, 'evidence lines');
    expect(items).toEqual([1, 2]);
    expect(note).toBe('…and 3 more evidence lines');
    expect(limitList([1], 2, 'x').note).toBeUndefined();
  });
});

describe('mention', () => {
  it('mentions only real user ids', () => {
    expect(mention('UALICE')).toBe('<@UALICE>');
    expect(mention('bot')).toBe('bot');
    expect(mention('<!channel>')).toBe('&lt;!channel&gt;');
  });
});
