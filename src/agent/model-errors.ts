import { AppError } from '../lib/errors.js';

/** Every code the model adapter fails with. */
export type ModelErrorCode =
  | 'model_incomplete'
  | 'openai_insufficient_quota'
  | 'openai_rate_limited'
  | 'openai_bad_key'
  | 'openai_unavailable'
  | 'openai_refused'
  | 'openai_failed';

export class ModelError extends AppError<ModelErrorCode> {}
