/** `GET /v1/models` and `GET /v1/models/{model}` of the fake. */
import { errorReply, type Reply } from './http.js';

/** Model ids the fake knows unless `FakeOpenAIOptions.models` says otherwise (platform notes §1, §6). */
export const DEFAULT_MODELS: readonly string[] = ['gpt-6.2-sol', 'gpt-6.1-sol', 'gpt-6-sol', 'gpt-6.2-astra'];

/** Release dates where the platform notes give one; otherwise a fixed date. */
const CREATED: Record<string, number> = {
  'gpt-6.2-sol': Date.UTC(2026, 10, 17) / 1000,
  'gpt-6.1-sol': Date.UTC(2026, 8, 29) / 1000,
};
const DEFAULT_CREATED = Date.UTC(2026, 0, 1) / 1000;

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

function modelObject(id: string): ModelObject {
  return { id, object: 'model', created: CREATED[id] ?? DEFAULT_CREATED, owned_by: 'system' };
}

/** null when the path is not a models route. */
export function modelsRoute(models: readonly string[], method: string, id: string | undefined): Reply | null {
  if (method !== 'GET') return null;
  if (id === undefined) return { status: 200, body: { object: 'list', data: models.map(modelObject) } };
  if (models.includes(id)) return { status: 200, body: modelObject(id) };
  return errorReply(404, {
    message: `The model \`${id}\` does not exist or you do not have access to it.`,
    code: 'model_not_found',
  });
}
