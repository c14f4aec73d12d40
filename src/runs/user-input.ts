import type { InputItem } from '../agent/model.js';
import type { QueuedMessage } from '../store/thread-store.js';

/** A Slack message as the model reads it: user content that says who wrote it. */
export function toUserInput(message: QueuedMessage): InputItem {
  return {
    type: 'message',
    role: 'user',
    content: `Slack message from <@${message.user}> (ts ${message.ts}):\n${message.text}`,
  };
}
