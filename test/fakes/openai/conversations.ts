/** In-memory conversation store of the fake OpenAI server. */
import type { StoredItem } from './steps.js';
import { type IdGenerator, itemIdPrefix, normalizeInputItems, nowSeconds } from './wire.js';

export interface StoredConversation {
  id: string;
  object: 'conversation';
  created_at: number;
  metadata: Record<string, string>;
  items: StoredItem[];
}

export interface ItemList {
  object: 'list';
  data: StoredItem[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export interface ListQuery {
  limit?: number;
  order?: 'asc' | 'desc';
  after?: string;
}

export class ListCursorError extends Error {}

export function toList(data: StoredItem[], hasMore: boolean): ItemList {
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data[data.length - 1]?.id ?? null,
    has_more: hasMore,
  };
}

export class ConversationStore {
  readonly #conversations = new Map<string, StoredConversation>();
  readonly #ids: IdGenerator;

  constructor(ids: IdGenerator) {
    this.#ids = ids;
  }

  create(options: { metadata?: Record<string, string> | null; items?: unknown } = {}): StoredConversation {
    const conversation: StoredConversation = {
      id: this.#ids.next('conv'),
      object: 'conversation',
      created_at: nowSeconds(),
      metadata: options.metadata ?? {},
      items: [],
    };
    this.#conversations.set(conversation.id, conversation);
    this.append(conversation.id, normalizeInputItems(options.items));
    return conversation;
  }

  get(id: string): StoredConversation | undefined {
    return this.#conversations.get(id);
  }

  delete(id: string): boolean {
    return this.#conversations.delete(id);
  }

  clear(): void {
    this.#conversations.clear();
  }

  /** Public view of a conversation (without items). */
  view(conversation: StoredConversation): Omit<StoredConversation, 'items'> {
    const { items: _items, ...rest } = conversation;
    return structuredClone(rest);
  }

  /** Appends clones of `items`, assigning ids where missing; returns the stored copies. */
  append(id: string, items: StoredItem[]): StoredItem[] {
    const conversation = this.#conversations.get(id);
    if (!conversation) throw new Error(`unknown conversation ${id}`);
    const added = items.map((item) => {
      const copy = structuredClone(item);
      if (typeof copy.id !== 'string' || copy.id === '') copy.id = this.#ids.next(itemIdPrefix(copy.type));
      return copy;
    });
    conversation.items.push(...added);
    return structuredClone(added);
  }

  list(conversation: StoredConversation, query: ListQuery): ItemList {
    const ordered = query.order === 'asc' ? [...conversation.items] : [...conversation.items].reverse();
    let start = 0;
    if (query.after !== undefined) {
      const index = ordered.findIndex((item) => item.id === query.after);
      if (index < 0) throw new ListCursorError(`No item with id '${query.after}' in conversation ${conversation.id}.`);
      start = index + 1;
    }
    const limit = Math.min(100, Math.max(1, query.limit ?? 20));
    const page = ordered.slice(start, start + limit);
    return toList(structuredClone(page), start + limit < ordered.length);
  }
}
