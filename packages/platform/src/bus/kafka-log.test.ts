import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { toLogCreator } from './kafka.ts';

const { logLevel } = kafkajs;

function captured() {
  const lines: { level: string; text: string }[] = [];
  const at = (level: string) => (_fields: object, text: string) => lines.push({ level, text });
  return { lines, logger: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') } };
}

const entry = (namespace: string, error: string) => ({
  namespace,
  level: logLevel.ERROR,
  label: 'ERROR',
  log: { timestamp: '', message: 'Response Heartbeat(key: 12, version: 3)', error },
});

describe('kafkajs log routing', () => {
  it('keeps a rebalancing group’s heartbeat answers at debug', () => {
    const { lines, logger } = captured();
    toLogCreator(logger)()(entry('Connection', 'The group is rebalancing, so a rejoin is needed'));
    toLogCreator(logger)()(entry('Connection', 'This is not the correct coordinator for this group'));
    expect(lines.map((l) => l.level)).toEqual(['debug', 'debug']);
  });

  it('logs every other error answer as an error', () => {
    const { lines, logger } = captured();
    toLogCreator(logger)()(
      entry('Connection', 'Not authorized to access topics: [Topic authorization failed]'),
    );
    toLogCreator(logger)()(entry('Runner', 'The group is rebalancing, so a rejoin is needed'));
    expect(lines.map((l) => l.level)).toEqual(['error', 'error']);
  });
});
