/** The page's mrkdwn parser (a browser script) run in a Node vm: what each input becomes. */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createContext, runInContext } from 'node:vm';

interface MrkNode {
  t: 'text' | 'el';
  v?: string;
  tag?: string;
  cls?: string;
  href?: string;
  kids?: MrkNode[];
}

const source = readFileSync(new URL('../../src/sim/slack/page/mrkdwn.js', import.meta.url), 'utf8');
const sandbox = createContext({});
runInContext(`${source}\nthis.parseMrkdwn = parseMrkdwn;`, sandbox);
const parseMrkdwn = (sandbox as { parseMrkdwn: (text: string, ctx: unknown) => MrkNode[] }).parseMrkdwn;

const ctx = (links: boolean) => ({
  links,
  userName: (id: string) => ({ UALICE: 'Alice' })[id] ?? id,
  channelName: (id: string) => id,
  groupHandle: (id: string) => ({ S0ONCALL: 'oncall' })[id] ?? id,
});

/** A compact rendering: text as is, elements as [tag.class href](children). */
function show(nodes: MrkNode[]): string {
  return nodes
    .map((n) =>
      n.t === 'text'
        ? n.v
        : `[${n.tag}${n.cls ? `.${n.cls}` : ''}${n.href ? ` ${n.href}` : ''}](${show(n.kids ?? [])})`,
    )
    .join('');
}

const render = (text: string, links = true) => show(parseMrkdwn(text, ctx(links)));

describe('page mrkdwn', () => {
  it('renders bold, italic, strike, code and code blocks', () => {
    expect(render('*bold* and _it_ and ~gone~ and `a*b*c`')).toBe(
      '[b](bold) and [i](it) and [s](gone) and [code](a*b*c)',
    );
    expect(render('```\nkubectl get pods\n*not bold*```')).toBe('[pre](kubectl get pods\n*not bold*)');
    expect(render('line1\nline2')).toBe('line1[br]()line2');
  });

  it('needs word boundaries around markers, as Slack does', () => {
    expect(render('a*b*c and snake_case_name')).toBe('a*b*c and snake_case_name');
    expect(render('* not bold *')).toBe('* not bold *');
  });

  it("decodes Slack's three entities into the characters the sender meant", () => {
    expect(render('&lt;img src=x onerror=alert(1)&gt; &amp;lt; &lt;!channel&gt;')).toBe(
      '<img src=x onerror=alert(1)> &lt; <!channel>',
    );
  });

  it("renders the app's links, mentions and broadcasts, and only safe link schemes", () => {
    expect(render('<https://example.com/a?b=1&amp;c=2|docs> <@UALICE> <!here> <!subteam^S0ONCALL>')).toBe(
      '[a https://example.com/a?b=1&c=2](docs) [span.mention](@Alice) [span.mention-broadcast](@here) [span.mention-broadcast](@oncall)',
    );
    expect(render('<javascript:alert(1)|click>')).toBe('<javascript:alert(1)|click>');
    expect(render('<img src=x onerror=alert(1)>')).toBe('<img src=x onerror=alert(1)>');
  });

  it('renders no links or mentions in what a person typed', () => {
    expect(render('<https://evil.example|bank> <!channel>', false)).toBe(
      '<https://evil.example|bank> <!channel>',
    );
  });

  it('turns known emoji codes into emoji and leaves unknown ones', () => {
    expect(render(':white_check_mark: ok :not_an_emoji:')).toBe('✅ ok :not_an_emoji:');
  });
});
