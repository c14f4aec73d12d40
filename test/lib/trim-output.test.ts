import { describe, expect, it } from 'vitest';
import { lastLines, trimOutput } from '../../src/lib/trim-output.js';

describe('trimOutput', () => {
  it('leaves text within the budget alone', () => {
    expect(trimOutput('short', 10)).toBe('short');
    expect(trimOutput('', 0)).toBe('');
  });

  it('keeps the head and the tail within the budget and says how much was left out', () => {
    const text = Array.from({ length: 1000 }, (_, i) => `line ${i + 1}`).join('\n');
    const trimmed = trimOutput(text, 500);
    expect(trimmed.length).toBeLessThanOrEqual(500);
    expect(trimmed.startsWith('line 1\nline 2\n')).toBe(true);
    expect(trimmed.endsWith('line 999\nline 1000')).toBe(true);
    const found = /… \[(\d+) chars, (\d+) lines left out\] …/.exec(trimmed);
    expect(found).not.toBeNull();
    const omittedChars = Number(found?.[1]);
    const [head = '', tail = ''] = trimmed.split(/\n… \[.*\] …\n/);
    expect(head.length + omittedChars + tail.length).toBe(text.length);
  });

  it('cuts on line boundaries so kept lines are whole', () => {
    const text = Array.from({ length: 200 }, (_, i) => `entry-${i}`).join('\n');
    const [head = '', tail = ''] = trimOutput(text, 300).split(/\n… \[.*\] …\n/);
    for (const line of [...head.split('\n'), ...tail.split('\n')].filter(Boolean)) expect(line).toMatch(/^entry-\d+$/);
  });

  it('can favour the tail', () => {
    const text = 'x'.repeat(10_000);
    const trimmed = trimOutput(text, 1000, { headShare: 0.2 });
    const [head = '', tail = ''] = trimmed.split(/\n… \[.*\] …\n/);
    expect(tail.length).toBeGreaterThan(head.length * 3);
    expect(trimmed.length).toBeLessThanOrEqual(1000);
  });

  it('never splits a surrogate pair', () => {
    const text = '😀'.repeat(5000);
    const trimmed = trimOutput(text, 1001);
    expect(trimmed).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
  });
});

describe('lastLines', () => {
  it('keeps the last lines, cuts long ones and says how many came before', () => {
    const text = `${Array.from({ length: 30 }, (_, i) => `l${i + 1}`).join('\n')}\n${'y'.repeat(500)}\n\n`;
    const excerpt = lastLines(text, 3, 100);
    expect(excerpt).toBe(`… (28 earlier lines)\nl29\nl30\n${'y'.repeat(100)}…`);
    expect(lastLines('a\nb', 5)).toBe('a\nb');
  });
});
