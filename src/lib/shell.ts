/** Quotes one word for bash: single quotes, with any single quote inside closed, escaped and reopened. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
