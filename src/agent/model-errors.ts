import { AppError } from '../lib/errors.js';

export class ModelError extends AppError {}

export class ModelAbortedError extends ModelError {
  constructor(cause?: unknown) {
    super('model_aborted', 'The model request was aborted', { cause });
  }
}
