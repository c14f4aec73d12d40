import { AppError } from '../../../lib/errors.js';

/** Something the model asked for that cannot be done as asked; it reads the message and tries again. */
export class ToolError extends AppError<'tool_error'> {
  constructor(message: string) {
    super('tool_error', message);
  }
}
