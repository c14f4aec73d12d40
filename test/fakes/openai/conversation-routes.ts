/** `/v1/conversations…` routes of the fake OpenAI server. */
import { type ConversationStore, ListCursorError, toList } from './conversations.js';
import { errorReply, isRecord, type Reply } from './http.js';
import type { Parsed } from './protocol.js';

/**
 * Validates the `items` of `POST /conversations` and `POST /conversations/{id}/items` (shapes, at most 20, compaction
 * items the fake issued). The function-call pairing is checked by `POST /responses`, not here (unverified whether
 * the API checks it on these routes).
 */
export type ItemsValidator = (items: unknown) => Parsed;

function metadataOf(params: Record<string, unknown>): Record<string, string> | undefined {
  return isRecord(params.metadata) ? (params.metadata as Record<string, string>) : undefined;
}

/** `POST /v1/conversations {metadata?, items?}`. */
export function createConversationRoute(store: ConversationStore, body: unknown, validate: ItemsValidator): Reply {
  const params = isRecord(body) ? body : {};
  const parsed = validate(params.items);
  if (!parsed.ok) return errorReply(400, parsed.error);
  const conversation = store.create({ metadata: metadataOf(params) ?? {}, items: parsed.items });
  return { status: 200, body: store.view(conversation) };
}

/**
 * Routes on one conversation. `route` is `<METHOD> <suffix>` with suffix `''`, `'/items'` or `'/items/:item'`;
 * null when the method / suffix is not a conversation route.
 */
export function conversationRoute(
  store: ConversationStore,
  route: string,
  conversationId: string,
  body: unknown,
  query: URLSearchParams,
  itemId: string | undefined,
  validate: ItemsValidator,
): Reply | null {
  const known = ['GET ', 'POST ', 'DELETE ', 'POST /items', 'GET /items', 'GET /items/:item', 'DELETE /items/:item'];
  if (!known.includes(route)) return null;
  const conversation = store.get(conversationId);
  if (!conversation) {
    return errorReply(404, {
      message: `Conversation with id '${conversationId}' not found.`,
      param: 'conversation_id',
    });
  }
  const params = isRecord(body) ? body : {};
  switch (route) {
    case 'GET ':
      return { status: 200, body: store.view(conversation) };
    case 'POST ':
      conversation.metadata = metadataOf(params) ?? conversation.metadata;
      return { status: 200, body: store.view(conversation) };
    case 'DELETE ':
      store.delete(conversationId);
      return { status: 200, body: { id: conversationId, object: 'conversation.deleted', deleted: true } };
    case 'POST /items': {
      if (params.items === undefined) {
        return errorReply(400, {
          message: "Missing required parameter: 'items'.",
          param: 'items',
          code: 'missing_required_parameter',
        });
      }
      const parsed = validate(params.items);
      if (!parsed.ok) return errorReply(400, parsed.error);
      return { status: 200, body: toList(store.append(conversationId, parsed.items), false) };
    }
    case 'GET /items': {
      const order = query.get('order') ?? 'desc';
      if (order !== 'asc' && order !== 'desc') {
        return errorReply(400, { message: `Invalid value for 'order': '${order}'.`, param: 'order' });
      }
      const limit = query.get('limit');
      const after = query.get('after');
      try {
        const list = store.list(conversation, {
          order,
          ...(limit === null ? {} : { limit: Number(limit) }),
          ...(after === null ? {} : { after }),
        });
        return { status: 200, body: list };
      } catch (error) {
        if (!(error instanceof ListCursorError)) throw error;
        return errorReply(400, { message: error.message, param: 'after' });
      }
    }
    default: {
      const index = conversation.items.findIndex((item) => item.id === itemId);
      const item = conversation.items[index];
      if (!item) return errorReply(404, { message: `Item with id '${itemId}' not found.`, param: 'item_id' });
      if (route.startsWith('GET')) return { status: 200, body: structuredClone(item) };
      conversation.items.splice(index, 1);
      return { status: 200, body: store.view(conversation) };
    }
  }
}
